using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Npgsql;
using Sluice.Integration.Tests.Fixtures;
using Sluice.Integration.Tests.Security.Support;
using Sluice.Proxy.Configuration;
using Xunit.Abstractions;

namespace Sluice.Integration.Tests.Security;

/// <summary>
/// Thousands of malformed frames at every step of the client side's login and after it, with a well-behaved client
/// running alongside: every bad connection gets 08P01 or is closed, memory stays bounded, nothing crashes, and the
/// good client never notices.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed partial class ClientFuzzTests(PostgresFixture fixture, ITestOutputHelper output) : IDisposable
{
    private const int Seed = 20_26;
    private const int Parallelism = 8;
    private static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(20);

    private readonly TestPki _pki = TestPki.Create();

    [Fact]
    public async Task Malformed_frames_get_08P01_or_a_close_and_a_healthy_client_sees_no_failure()
    {
        var certificate = _pki.Issue("proxy");
        var config = fixture.CreateProxyConfig() with
        {
            Tls = new TlsSection { Mode = TlsMode.Allow, CertFile = certificate.CertFile, KeyFile = certificate.KeyFile },
            Limits = new LimitsSection { ClientLoginTimeout = TimeSpan.FromSeconds(10) },
        };
        var logs = new CapturingLoggerProvider(keepFrom: LogLevel.Warning);
        using var loggerFactory = logs.CreateFactory();
        await using var proxy = await fixture.StartProxyAsync(config, loggerFactory);

        // Warm up (first logins, JIT, pools) before taking the baseline.
        await RunHealthyRoundAsync(proxy, tls: false);
        await RunHealthyRoundAsync(proxy, tls: true);
        var baselineManaged = GC.GetTotalMemory(forceFullCollection: true);
        var baselineWorkingSet = Environment.WorkingSet;

        using var sampling = new CancellationTokenSource();
        var peaks = SamplePeaksAsync(sampling.Token);
        using var fuzzing = new CancellationTokenSource();
        var healthy = new[] { RunHealthyClientAsync(proxy, tls: false, fuzzing.Token), RunHealthyClientAsync(proxy, tls: true, fuzzing.Token) };

        var cases = new FuzzCorpus(Seed).Cases().ToList();
        var results = new ConcurrentBag<(FuzzCase Case, FuzzOutcome Outcome)>();
        var stopwatch = Stopwatch.StartNew();
        await Parallel.ForEachAsync(cases, new ParallelOptions { MaxDegreeOfParallelism = Parallelism }, async (fuzzCase, _) =>
            results.Add((fuzzCase, await RunCaseAsync(proxy.Port, fuzzCase))));
        var fuzzTime = stopwatch.Elapsed;

        await fuzzing.CancelAsync();
        var healthyResults = await Task.WhenAll(healthy);
        await WaitForSessionsToEndAsync(proxy);
        await sampling.CancelAsync();
        var (peakManaged, peakWorkingSet) = await peaks;
        var afterManaged = GC.GetTotalMemory(forceFullCollection: true);

        var hung = results.Where(r => !r.Outcome.Closed).ToList();
        var bySqlState = results.GroupBy(r => r.Outcome.SqlState ?? "closed, no error").ToDictionary(g => g.Key, g => g.Count());
        var frames = results.Sum(r => r.Case.Frames);
        var healthyQueries = healthyResults.Sum(r => r.Queries);
        var healthyFailures = healthyResults.SelectMany(r => r.Failures).ToList();
        var errorsLogged = logs.Entries.Where(e => e.Level >= LogLevel.Error).ToList();

        output.WriteLine($"fuzz: {results.Count} connections, {frames} malformed frames, {Parallelism} at a time, {fuzzTime.TotalSeconds:0.0} s");
        foreach (var (state, count) in bySqlState.OrderByDescending(pair => pair.Value))
        {
            output.WriteLine($"  answer {state}: {count}");
        }

        foreach (var group in results.GroupBy(r => (r.Case.Phase, r.Case.Kind)))
        {
            var refused = group.Count(r => r.Outcome.SqlState is not null);
            output.WriteLine($"  {group.Key.Phase,-15} {group.Key.Kind,-38} {group.Count(),5} cases, {refused,5} refused with an error, {group.Count() - refused,5} closed");
        }

        output.WriteLine($"not closed within {CloseTimeout.TotalSeconds:0} s: {hung.Count}");
        output.WriteLine($"memory: managed heap {Mb(baselineManaged)} MB before, peak {Mb(peakManaged)} MB, {Mb(afterManaged)} MB after; working set {Mb(baselineWorkingSet)} MB before, peak {Mb(peakWorkingSet)} MB");
        output.WriteLine($"healthy clients: {healthyQueries} queries, {healthyFailures.Count} failures");
        output.WriteLine($"log events: {logs.Count}, errors: {errorsLogged.Count}");
        foreach (var error in errorsLogged)
        {
            output.WriteLine("  " + error.AllText);
        }

        foreach (var (fuzzCase, outcome) in results.Where(r => r.Outcome.SqlState is not (null or "08P01")))
        {
            output.WriteLine($"  {outcome.SqlState} for {fuzzCase.Phase}/{fuzzCase.Kind}: {Convert.ToHexString(fuzzCase.Bytes.AsSpan(0, Math.Min(32, fuzzCase.Bytes.Length)))}");
        }

        foreach (var (fuzzCase, outcome) in results.Where(r => !r.Outcome.Closed))
        {
            output.WriteLine($"  hung: {fuzzCase.Phase}/{fuzzCase.Kind} from {outcome.Address}: {Convert.ToHexString(fuzzCase.Bytes.AsSpan(0, Math.Min(32, fuzzCase.Bytes.Length)))}");

        }

        Assert.True(results.Count >= 4_000);
        Assert.Empty(hung.Select(r => $"{r.Case.Phase}/{r.Case.Kind}"));
        Assert.DoesNotContain("XX000", bySqlState.Keys);
        // 08006: a message cut short was already on its way to PostgreSQL, which gave up on it; the client is told.
        Assert.All(bySqlState.Keys, state => Assert.Contains(state, new[] { "08P01", "08006", "closed, no error" }));
        Assert.True(bySqlState.GetValueOrDefault("08P01") > results.Count / 2, "most malformed input must be answered with 08P01");
        Assert.Empty(errorsLogged.Select(e => e.AllText));
        Assert.Empty(healthyFailures);
        Assert.True(healthyQueries > 0);
        Assert.Equal(0, proxy.Server.Runtime.ClientCount);
        Assert.True(afterManaged - baselineManaged < 32L << 20, $"managed heap grew by {Mb(afterManaged - baselineManaged)} MB and stayed");
        Assert.True(peakManaged - baselineManaged < 256L << 20, $"managed heap peaked {Mb(peakManaged - baselineManaged)} MB above the baseline");
    }

    public void Dispose() => _pki.Dispose();

    private static long Mb(long bytes) => bytes >> 20;

    private static async Task<FuzzOutcome> RunCaseAsync(int port, FuzzCase fuzzCase)
    {
        await using var client = await WireClient.ConnectAsync(port);
        try
        {
            switch (fuzzCase.Phase)
            {
                case FuzzPhase.StartupOverTls:
                    Assert.Equal('S', await client.RequestTlsAsync());
                    break;
                case FuzzPhase.TlsHandshake:
                    await client.SendAsync(Frames.SslRequest());
                    var answer = new byte[1];
                    await client.Stream.ReadExactlyAsync(answer);
                    Assert.Equal((byte)'S', answer[0]);
                    break;
                case FuzzPhase.Authentication:
                    await client.SendAsync(Frames.Startup(("user", TestRoles.Scram.Name), ("database", PostgresFixture.Database)));
                    Assert.Equal('R', (await client.ReadMessageAsync())?.Type);
                    break;
                case FuzzPhase.LoggedIn:
                    await client.SendAsync(Frames.Startup(("user", TestRoles.Trust.Name), ("database", PostgresFixture.Database)));
                    while (await client.ReadMessageAsync() is { Type: not 'Z' } message)
                    {
                        Assert.NotEqual('E', message.Type);
                    }

                    break;
            }

            await client.SendAsync(fuzzCase.Bytes);
        }
        catch (Exception ex) when (ex is IOException or SocketException or AuthenticationException)
        {
            // The proxy may close before it has read everything (a 10,000-parameter packet is refused on its length).
        }

        await client.ShutdownSendAsync();
        var (received, closed) = await client.ReadToEndAsync(CloseTimeout);
        var state = SqlStatePattern().Match(Encoding.Latin1.GetString(received));
        return new FuzzOutcome(closed, state.Success ? state.Groups[1].Value : null, client.LocalAddress);
    }

    private async Task<HealthyResult> RunHealthyClientAsync(RunningProxy proxy, bool tls, CancellationToken stop)
    {
        var result = new HealthyResult();
        while (!stop.IsCancellationRequested)
        {
            try
            {
                result.Queries += await RunHealthyRoundAsync(proxy, tls);
            }
            catch (Exception ex) when (ex is NpgsqlException or IOException or TimeoutException or InvalidOperationException)
            {
                result.Failures.Add(ex.Message);
            }
        }

        return result;
    }

    /// <summary>A fresh login (so logins are tested too, not only an open session) and a few queries.</summary>
    private static async Task<int> RunHealthyRoundAsync(RunningProxy proxy, bool tls)
    {
        var builder = new NpgsqlConnectionStringBuilder(proxy.ConnectionString(TestRoles.Scram));
        if (tls)
        {
            builder.SslMode = SslMode.Require;
            builder.ChannelBinding = ChannelBinding.Require;
        }

        await using var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync();
        for (var i = 0; i < 10; i++)
        {
            await using var command = new NpgsqlCommand("SELECT $1::int + 1", connection) { Parameters = { new() { Value = i } } };
            Assert.Equal(i + 1, await command.ExecuteScalarAsync());
        }

        return 10;
    }

    private static async Task<(long Managed, long WorkingSet)> SamplePeaksAsync(CancellationToken stop)
    {
        long managed = 0, workingSet = 0;
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
        try
        {
            do
            {
                managed = Math.Max(managed, GC.GetTotalMemory(forceFullCollection: false));
                workingSet = Math.Max(workingSet, Environment.WorkingSet);
            }
            while (await timer.WaitForNextTickAsync(stop));
        }
        catch (OperationCanceledException)
        {
        }

        return (managed, workingSet);
    }

    private static async Task WaitForSessionsToEndAsync(RunningProxy proxy)
    {
        var deadline = Stopwatch.StartNew();
        while (proxy.Server.Runtime.ClientCount > 0 && deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(50);
        }
    }

    [GeneratedRegex("\0C([0-9A-Z]{5})\0")]
    private static partial Regex SqlStatePattern();

    private sealed record FuzzOutcome(bool Closed, string? SqlState, string Address);

    private sealed class HealthyResult
    {
        public int Queries { get; set; }

        public List<string> Failures { get; } = [];
    }
}
