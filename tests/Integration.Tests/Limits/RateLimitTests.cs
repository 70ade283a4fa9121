using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Npgsql;
using Sluice.Integration.Tests.Fixtures;
using Sluice.Integration.Tests.Support;
using Sluice.Proxy.Configuration;
using Sluice.Proxy.Demo;

namespace Sluice.Integration.Tests.Limits;

/// <summary>Connection and transaction rate limits with real clients: a connection storm from one address, pgbench under a transaction rate.</summary>
[Collection(PostgresCollection.Name)]
public sealed partial class RateLimitTests(PostgresFixture fixture)
{
    [Fact]
    public async Task A_connection_storm_from_one_address_is_let_in_at_the_rate_while_another_address_and_a_connected_client_are_not_slowed()
    {
        const int Rate = 10;
        const int Storm = 100;
        var rateWait = TimeSpan.FromSeconds(1);
        var config = TestSetup.Config(fixture, PoolMode.Transaction);
        config = config with
        {
            Limits = config.Limits with { ConnectionRate = Rate, ConnectionRateWait = rateWait },

            // A hundred logins at once on a busy machine can delay a health probe past its usual timeout (2 s); the
            // primary must not be taken for down meanwhile, that is another test's subject.
            Routing = config.Routing with { HealthCheckInterval = TimeSpan.FromSeconds(5) },
        };
        await using var proxy = await fixture.StartProxyAsync(config);
        var role = TestRoles.Trust;
        await using var healthy = await Db.OpenAsync(proxy.ConnectionString(role));
        await using var relay = new LoopbackRelay(IPAddress.Parse("127.0.0.2"), proxy.Port);

        var started = Stopwatch.StartNew();
        var storm = Enumerable.Range(0, Storm).Select(_ => Task.Run(() => TryOpenAsync(proxy.ConnectionString(role)))).ToArray();

        // While the storm is on: a second address gets its own full burst, the connected client goes on as before.
        var fromSecondAddress = await Task.WhenAll(Enumerable.Range(0, Rate).Select(_ => Task.Run(() => TryOpenAsync(RelayedConnectionString(relay, role)))));
        Assert.Equal(1, await Db.ScalarAsync<int>(healthy, "SELECT 1"));

        var outcomes = await Task.WhenAll(storm).WaitAsync(TimeSpan.FromSeconds(60));
        var elapsed = started.Elapsed;

        Assert.All(fromSecondAddress, outcome => Assert.Null(outcome));
        var refusals = outcomes.Where(outcome => outcome is not null).ToArray();
        Assert.All(refusals, refusal =>
        {
            Assert.Equal("53300", refusal!.SqlState);
            Assert.Contains("connection rate limit", refusal.MessageText, StringComparison.Ordinal);
        });

        // The burst at once, then one per 1/rate seconds, each waiting at most connection_rate_wait for its turn.
        var admitted = Storm - refusals.Length;
        var mostAdmissible = Rate + (int)Math.Ceiling(Rate * (elapsed + rateWait).TotalSeconds);
        Assert.InRange(admitted, Rate, mostAdmissible);
        Assert.NotEmpty(refusals);
        Assert.Equal(1, await Db.ScalarAsync<int>(healthy, "SELECT 1"));
    }

    [Fact]
    public async Task A_transaction_rate_holds_pgbench_to_its_rate_without_failures_and_another_user_runs_free()
    {
        const int Rate = 50;
        var limited = await TestSetup.CreateRoleAsync(fixture, "txrate");
        var free = await TestSetup.CreateRoleAsync(fixture, "txfree");
        var config = TestSetup.Config(fixture, PoolMode.Transaction, 5, TestSetup.UserFor(limited) with { TransactionRate = Rate }, TestSetup.UserFor(free));
        await using var proxy = await fixture.StartProxyAsync(config);
        var script = Path.Combine(Path.GetTempPath(), $"sluice_rate_{Guid.NewGuid():N}.sql");
        await File.WriteAllTextAsync(script, "SELECT 1;\n");
        try
        {
            var runs = await Task.WhenAll(PgbenchAsync(proxy, limited, script, "-T", "8", "-P", "1"), PgbenchAsync(proxy, free, script, "-T", "8"));

            CleanRunTps(runs[0]);

            // pgbench's own per-second progress, after the first two seconds that spend the burst: the steady rate.
            var steady = ProgressPattern().Matches(runs[0].StandardError)
                .Select(m => (Second: double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), Tps: double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture)))
                .Where(p => p.Second > 2)
                .ToArray();
            Assert.True(steady.Length >= 3, "too few progress reports:\n" + runs[0].StandardError);
            var limitedTps = steady.Average(p => p.Tps);
            var freeTps = CleanRunTps(runs[1]);
            Assert.InRange(limitedTps, Rate * 0.9, Rate * 1.1);
            Assert.True(freeTps > 2 * Rate, $"the user without a rate ran at {freeTps:0.#} tps next to one limited to {Rate}");
        }
        finally
        {
            File.Delete(script);
        }
    }

    private static async Task<PostgresException?> TryOpenAsync(string connectionString)
    {
        try
        {
            await using var connection = await Db.OpenAsync(connectionString);
            Assert.Equal(1, await Db.ScalarAsync<int>(connection, "SELECT 1"));
            return null;
        }
        catch (PostgresException ex)
        {
            return ex;
        }
    }

    private static string RelayedConnectionString(LoopbackRelay relay, TestRole role) =>
        new NpgsqlConnectionStringBuilder { Host = "127.0.0.1", Port = relay.Port, Database = PostgresFixture.Database, Username = role.Name, Password = role.Password, Pooling = false, Timeout = 15 }.ConnectionString;

    private Task<ProcessResult> PgbenchAsync(RunningProxy proxy, TestRole role, string script, params string[] duration) =>
        fixture.RunPgbenchAsync(
            ["-n", "-h", "127.0.0.1", "-p", proxy.Port.ToString(CultureInfo.InvariantCulture), "-U", role.Name, "-c", "10", "-j", "2", "-f", script, .. duration, PostgresFixture.Database],
            role.Password,
            TimeSpan.FromSeconds(60));

    private static double CleanRunTps(ProcessResult run)
    {
        Assert.True(run.Succeeded, $"pgbench exited with {run.ExitCode}:\n{run.StandardError}\n{run.StandardOutput}");
        var failed = FailedPattern().Match(run.StandardOutput);
        Assert.True(!failed.Success || failed.Groups[1].Value == "0", run.StandardOutput);
        var tps = TpsPattern().Match(run.StandardOutput);
        Assert.True(tps.Success, "no tps in pgbench's output:\n" + run.StandardOutput);
        return double.Parse(tps.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"number of failed transactions: (\d+)")]
    private static partial Regex FailedPattern();

    [GeneratedRegex(@"progress: ([\d.]+) s, ([\d.]+) tps")]
    private static partial Regex ProgressPattern();

    [GeneratedRegex(@"tps = ([\d.]+)")]
    private static partial Regex TpsPattern();
}
