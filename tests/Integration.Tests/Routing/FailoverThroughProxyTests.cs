using System.Diagnostics;
using Npgsql;
using Sluice.Integration.Tests.Fixtures;
using Sluice.Proxy.Demo;
using Xunit.Abstractions;
using static Sluice.Integration.Tests.Routing.RoutingTestSupport;

namespace Sluice.Integration.Tests.Routing;

/// <summary>
/// Losing the primary, promoting the replica, and a split brain, as clients connected through the proxy see them:
/// each test has a cluster of its own (the shared one is never broken).
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class FailoverThroughProxyTests(ITestOutputHelper output)
{
    private const string Database = "postgres";
    private const int Clients = 3;
    private static readonly TimeSpan ErrorWithin = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Clients_get_no_primary_errors_keep_reading_and_continue_on_the_promoted_replica()
    {
        await using var cluster = await PostgresCluster.StartAsync(new PostgresClusterOptions());
        await cluster.ExecuteOnPrimaryAsync("CREATE TABLE failover_items (client int, step text)");
        await cluster.WaitForReplicaCatchUpAsync(WaitLimit);
        await using var proxy = await StartAsync(cluster);
        var health = proxy.Server.Runtime.Health;
        var connections = await OpenClientsAsync(proxy, cluster);
        try
        {
            var pids = connections.Select(c => c.ProcessID).ToList();
            for (var i = 0; i < Clients; i++)
            {
                await WriteAsync(connections[i], i, "before");
                Assert.True(await RanOnReplicaAsync(connections[i]));
            }

            // Clients idle between transactions while the primary goes away.
            await cluster.StopServerAsync(ClusterNode.Primary);
            var stopped = Stopwatch.StartNew();
            for (var i = 0; i < Clients; i++)
            {
                var error = await FirstWriteErrorAsync(connections[i], i);
                output.WriteLine($"client {i}: 08006 after {stopped.Elapsed.TotalMilliseconds:0} ms: {error.MessageText}");
                Assert.Equal(PostgresErrorCodes.ConnectionFailure, error.SqlState);
                Assert.Contains("no writable primary", error.MessageText, StringComparison.Ordinal);
                Assert.Equal(System.Data.ConnectionState.Open, connections[i].State);
                Assert.True(await RanOnReplicaAsync(connections[i]), "reads keep going to the replica");
                Assert.Equal(1L, await ScalarAsync<long>(connections[i], $"SELECT count(*) FROM failover_items WHERE client = {i}"));
            }

            Assert.True(stopped.Elapsed < ErrorWithin + TimeSpan.FromSeconds(Clients), $"no-primary errors took {stopped.Elapsed}");

            var error2 = await Assert.ThrowsAsync<PostgresException>(() => WriteAsync(connections[0], 0, "still none"));
            Assert.Equal(PostgresErrorCodes.ConnectionFailure, error2.SqlState);

            await cluster.PromoteReplicaAsync();
            var promoted = Stopwatch.StartNew();
            var firstWrite = await UntilWriteSucceedsAsync(connections[0], 0, "after");
            var budget = (2 * HealthCheckInterval) + TimeSpan.FromSeconds(1);
            output.WriteLine($"first write on the promoted replica {firstWrite.TotalMilliseconds:0} ms after pg_ctl promote returned "
                + $"(two health_check_intervals = {2 * HealthCheckInterval.TotalMilliseconds:0} ms, allowed with slack {budget.TotalMilliseconds:0} ms)");
            Assert.True(firstWrite <= budget, $"writes resumed {firstWrite.TotalMilliseconds:0} ms after promotion");

            for (var i = 0; i < Clients; i++)
            {
                if (i > 0)
                {
                    await WriteAsync(connections[i], i, "after");
                }

                Assert.Equal(pids[i], connections[i].ProcessID);
                Assert.Equal(System.Data.ConnectionState.Open, connections[i].State);
                await using var transaction = await connections[i].BeginTransactionAsync();
                Assert.False(await RanOnReplicaAsync(connections[i]), "the promoted server is not in recovery");
                await transaction.CommitAsync();
            }

            Assert.Equal(Clients.ToString(System.Globalization.CultureInfo.InvariantCulture), await cluster.ExecuteAsync(cluster.ReplicaPort, "SELECT count(*) FROM failover_items WHERE step = 'after'"));
            output.WriteLine($"total time from the primary stop: {stopped.Elapsed.TotalMilliseconds:0} ms, promotion to all clients writing: {promoted.Elapsed.TotalMilliseconds:0} ms");
        }
        finally
        {
            foreach (var connection in connections)
            {
                await connection.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Writes_are_fenced_while_two_servers_are_writable_and_resume_once_the_old_primary_is_gone()
    {
        await using var cluster = await PostgresCluster.StartAsync(new PostgresClusterOptions());
        await cluster.ExecuteOnPrimaryAsync("CREATE TABLE failover_items (client int, step text)");
        await cluster.WaitForReplicaCatchUpAsync(WaitLimit);
        await using var proxy = await StartAsync(cluster);
        var connections = await OpenClientsAsync(proxy, cluster);
        try
        {
            await WriteAsync(connections[0], 0, "before");

            await cluster.PromoteReplicaAsync();
            var promoted = Stopwatch.StartNew();
            var fenced = await FirstWriteErrorAsync(connections[0], 0);
            output.WriteLine($"fenced {promoted.Elapsed.TotalMilliseconds:0} ms after promotion: {fenced.MessageText}");
            Assert.Equal(PostgresErrorCodes.ConnectionFailure, fenced.SqlState);
            Assert.Contains("split brain", fenced.MessageText, StringComparison.Ordinal);
            for (var i = 0; i < Clients; i++)
            {
                var refused = await Assert.ThrowsAsync<PostgresException>(() => WriteAsync(connections[i], i, "split"));
                Assert.Equal(PostgresErrorCodes.ConnectionFailure, refused.SqlState);
                Assert.Equal(System.Data.ConnectionState.Open, connections[i].State);
            }

            Assert.Equal("0", await cluster.ExecuteAsync(cluster.PrimaryPort, "SELECT count(*) FROM failover_items WHERE step = 'split'"));
            Assert.Equal("0", await cluster.ExecuteAsync(cluster.ReplicaPort, "SELECT count(*) FROM failover_items WHERE step = 'split'"));

            await cluster.StopServerAsync(ClusterNode.Primary);
            var stopped = Stopwatch.StartNew();
            var resumed = await UntilWriteSucceedsAsync(connections[0], 0, "after");
            output.WriteLine($"writes resumed {resumed.TotalMilliseconds:0} ms after the old primary stopped");
            for (var i = 1; i < Clients; i++)
            {
                await WriteAsync(connections[i], i, "after");
            }

            Assert.Equal(Clients.ToString(System.Globalization.CultureInfo.InvariantCulture), await cluster.ExecuteAsync(cluster.ReplicaPort, "SELECT count(*) FROM failover_items WHERE step = 'after'"));
        }
        finally
        {
            foreach (var connection in connections)
            {
                await connection.DisposeAsync();
            }
        }
    }

    private async Task<RunningProxy> StartAsync(PostgresCluster cluster)
    {
        var server = await Sluice.Proxy.Hosting.ProxyServer.StartAsync(OwnClusterConfig(cluster, FastRouting), Logging(output));
        var proxy = new RunningProxy(server, OwnClusterConfig(cluster, FastRouting));
        var health = proxy.Server.Runtime.Health;
        await WaitUntilAsync(output, health, () => ReadsGoTo(health, Database) == cluster.ReplicaPort && health.Select(Database, Sluice.Routing.Topology.RouteKind.Write).Server?.Port == cluster.PrimaryPort, "the own cluster up");
        return proxy;
    }

    private static async Task<List<NpgsqlConnection>> OpenClientsAsync(RunningProxy proxy, PostgresCluster cluster)
    {
        var connections = new List<NpgsqlConnection>();
        for (var i = 0; i < Clients; i++)
        {
            var connection = new NpgsqlConnection(proxy.ConnectionString(cluster.Superuser, cluster.SuperuserPassword, Database));
            await connection.OpenAsync();
            connections.Add(connection);
        }

        return connections;
    }

    private static async Task WriteAsync(NpgsqlConnection connection, int client, string step)
    {
        await using var command = new NpgsqlCommand($"INSERT INTO failover_items VALUES ({client}, '{step}')", connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>
    /// Writes until the proxy refuses with 08006, for at most <see cref="ErrorWithin"/>. Other errors on the way (a
    /// server lost mid-statement before the monitor noticed) are printed; the session must survive them.
    /// </summary>
    private async Task<PostgresException> FirstWriteErrorAsync(NpgsqlConnection connection, int client)
    {
        var stopwatch = Stopwatch.StartNew();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await WriteAsync(connection, client, "probe");
                await using var cleanup = new NpgsqlCommand("DELETE FROM failover_items WHERE step = 'probe'", connection);
                await cleanup.ExecuteNonQueryAsync();
            }
            catch (PostgresException error) when (error.SqlState == PostgresErrorCodes.ConnectionFailure)
            {
                return error;
            }
            catch (PostgresException error)
            {
                output.WriteLine($"attempt {attempt}: {error.SqlState} {error.MessageText}");
            }

            Assert.True(stopwatch.Elapsed < ErrorWithin, $"no 08006 within {ErrorWithin.TotalSeconds} s");
            await Task.Delay(20);
        }
    }

    /// <summary>Retries a write every 20 ms (bounded) until it succeeds; how long that took.</summary>
    private async Task<TimeSpan> UntilWriteSucceedsAsync(NpgsqlConnection connection, int client, string step)
    {
        var stopwatch = Stopwatch.StartNew();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await WriteAsync(connection, client, step);
                return stopwatch.Elapsed;
            }
            catch (PostgresException error) when (stopwatch.Elapsed < WaitLimit)
            {
                if (attempt == 1 || attempt % 25 == 0)
                {
                    output.WriteLine($"attempt {attempt} at {stopwatch.Elapsed.TotalMilliseconds:0} ms: {error.SqlState} {error.MessageText}");
                }
            }

            await Task.Delay(20);
        }
    }
}
