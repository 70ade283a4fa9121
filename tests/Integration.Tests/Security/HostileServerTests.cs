using System.Diagnostics;
using Npgsql;
using Sluice.Integration.Tests.Fixtures;
using Sluice.Integration.Tests.Security.Support;
using Sluice.Proxy.Configuration;
using Xunit.Abstractions;

namespace Sluice.Integration.Tests.Security;

/// <summary>
/// A server that sends garbage during login, during TLS negotiation or in a reply: its clients get 08006 (or, when
/// the garbage already went out as part of a reply, a closed connection), its pool recovers once it behaves, and
/// clients of other databases never notice.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class HostileServerTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private const string HostileDatabase = "hostile";
    private const string HostileUser = "hostile_user";
    private const int RoundsPerMode = 3;

    [Fact]
    public async Task Garbage_from_a_server_gives_its_clients_08006_and_its_pool_survives()
    {
        await using var server = new HostileServer();
        var config = fixture.CreateProxyConfig(poolSize: 2);
        config = config with
        {
            // prefer: the proxy asks every server for TLS, so the hostile one can also misbehave there.
            Tls = new TlsSection { ServerMode = ServerTlsMode.Prefer },
            Pool = config.Pool with { ServerConnectTimeout = TimeSpan.FromSeconds(2) },
            Users = [.. config.Users, new UserConfig { Name = HostileUser, Auth = AuthMethod.Trust }],
            Databases = [.. config.Databases, new DatabaseConfig { Name = HostileDatabase, Servers = [new BackendServerConfig { Host = "127.0.0.1", Port = server.Port }] }],
        };
        await using var proxy = await fixture.StartProxyAsync(config);
        using var stop = new CancellationTokenSource();
        var healthy = RunHealthyClientAsync(proxy, stop.Token);

        // The very first login of the pool meets the garbage while fetching the server's parameters.
        await server.SetModeAsync(HostileMode.GarbageAfterStartup);
        var first = await RoundAsync(proxy.Port);
        Assert.Equal("08006", first.SqlState);
        Assert.Equal(Step.Login, first.Step);

        var outcomes = new List<(HostileMode Mode, RoundOutcome Outcome)>();
        foreach (var mode in Enum.GetValues<HostileMode>().Where(mode => mode != HostileMode.WellBehaved))
        {
            // A clean round first, so the pool has the server's parameters and the garbage lands where the mode says.
            await server.SetModeAsync(HostileMode.WellBehaved);
            Assert.Equal("1", (await RoundAsync(proxy.Port)).Value);
            await server.SetModeAsync(mode);
            for (var round = 0; round < RoundsPerMode; round++)
            {
                outcomes.Add((mode, await RoundAsync(proxy.Port)));
            }
        }
        await server.SetModeAsync(HostileMode.WellBehaved);
        var recovered = await RoundAsync(proxy.Port);
        await stop.CancelAsync();
        var (healthyQueries, healthyFailures) = await healthy;

        foreach (var (mode, outcome) in outcomes)
        {
            output.WriteLine($"{mode,-30} {outcome.Step,-6} {outcome.SqlState ?? "closed",-7} {outcome.Elapsed.TotalSeconds,5:0.00} s  {outcome.Message}");
        }

        output.WriteLine($"hostile server connections: {server.Accepted}; healthy client: {healthyQueries} queries, {healthyFailures.Count} failures");
        Assert.All(outcomes.Where(o => o.Mode is not (HostileMode.ReplyWithGarbage or HostileMode.ReplyCutMidMessage)), o => Assert.Equal("08006", o.Outcome.SqlState));
        Assert.All(outcomes.Where(o => o.Mode is HostileMode.ReplyWithGarbage or HostileMode.ReplyCutMidMessage), o => Assert.True(o.Outcome.SqlState is null or "08006", o.Outcome.SqlState));
        Assert.All(outcomes, o => Assert.True(o.Outcome.Elapsed < TimeSpan.FromSeconds(20), $"{o.Mode} took {o.Outcome.Elapsed}"));
        Assert.Equal("1", recovered.Value);
        var pool = Assert.Single(proxy.Server.Runtime.Pools.Pools, p => p.Database == HostileDatabase);
        Assert.InRange(pool.TotalCount, 0, pool.Settings.Size);
        Assert.Equal(0, pool.ConnectingCount);
        Assert.Empty(healthyFailures);
        Assert.True(healthyQueries > 0);
    }

    private enum Step
    {
        Login,
        Query,
    }

    /// <summary>Logs in to the hostile database and runs one query; what came back, and where.</summary>
    private static async Task<RoundOutcome> RoundAsync(int port)
    {
        var stopwatch = Stopwatch.StartNew();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var client = await WireClient.ConnectAsync(port);
        await client.SendAsync(Frames.Startup(("user", HostileUser), ("database", HostileDatabase)));
        var step = Step.Login;
        string? value = null;
        try
        {
            while (await client.ReadMessageAsync(timeout.Token) is { } message)
            {
                switch (message.Type)
                {
                    case 'E':
                        return new RoundOutcome(step, message.SqlState, message.Message, value, stopwatch.Elapsed);
                    case 'Z' when step == Step.Login:
                        step = Step.Query;
                        await client.SendAsync(Frames.Query("SELECT 1"), timeout.Token);
                        break;
                    case 'Z':
                        return new RoundOutcome(step, null, null, value, stopwatch.Elapsed);
                    case 'D':
                        value = System.Text.Encoding.UTF8.GetString(message.Payload.AsSpan(6));
                        break;
                }
            }
        }
        catch (InvalidDataException ex)
        {
            // Garbage that looked like a frame went through to the client; the proxy then closes.
            return new RoundOutcome(step, null, ex.Message, value, stopwatch.Elapsed);
        }

        return new RoundOutcome(step, null, "closed", value, stopwatch.Elapsed);
    }

    private static async Task<(int Queries, List<string> Failures)> RunHealthyClientAsync(RunningProxy proxy, CancellationToken stop)
    {
        var queries = 0;
        var failures = new List<string>();
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await using var connection = new NpgsqlConnection(proxy.ConnectionString(TestRoles.Scram));
                await connection.OpenAsync();
                for (var i = 0; i < 10; i++)
                {
                    await using var command = new NpgsqlCommand("SELECT 1", connection);
                    await command.ExecuteScalarAsync();
                    queries++;
                }
            }
            catch (Exception ex) when (ex is NpgsqlException or IOException or TimeoutException)
            {
                failures.Add(ex.Message);
            }
        }

        return (queries, failures);
    }

    private sealed record RoundOutcome(Step Step, string? SqlState, string? Message, string? Value, TimeSpan Elapsed);
}
