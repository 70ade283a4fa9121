using System.Data;
using System.Diagnostics;
using Npgsql;
using Sluice.Integration.Tests.Fixtures;
using Sluice.Proxy.Admin;
using Sluice.Proxy.Configuration;
using Sluice.Proxy.Demo;
using Sluice.Proxy.Hosting;
using Sluice.Routing.Topology;
using Xunit.Abstractions;
using static Sluice.Integration.Tests.Routing.RoutingTestSupport;

namespace Sluice.Integration.Tests.Failover;

/// <summary>
/// Failover as applications see it through Sluice in transaction mode: a fast shutdown of the primary and the
/// promotion of its streaming replica, both servers role = "auto", health checks every second (the operator's setup
/// of issue 15). Client connections survive, transactions that had not started wait for the new primary, and only
/// what was in flight on the stopped server fails. Tests that stop or promote a server have a cluster of their own;
/// the others use the shared one and leave it as they found it.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class TransparentFailoverTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private const string Database = "postgres";
    private const string Table = "failover_ticks";
    private const string AdministratorCommand = "terminating connection due to administrator command";
    private static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The setup. Reads are held to the lag budget only: under causal reads a read right after a write goes to
    /// the primary, and one in flight there at the shutdown would fail as it should, which is not what these tests count.
    /// </summary>
    private static readonly RoutingSection Routing = new()
    {
        HealthCheckInterval = CheckInterval,
        LagCheckInterval = TimeSpan.FromMilliseconds(250),
        MaxReplicaLag = TimeSpan.FromSeconds(5),
        ReadConsistency = ReadConsistency.LagBudget,
        BanTime = TimeSpan.FromSeconds(1),
        FailoverWait = TimeSpan.FromSeconds(15),
    };

    [Fact]
    public async Task One_client_writing_and_reading_every_20_ms_rides_out_a_fast_shutdown_and_promotion_without_reconnecting()
    {
        var (failedWrites, firstWrite, proxy, cluster) = await FailOverUnderLoadAsync(workers: 1);
        await using (cluster)
        await using (proxy)
        {
            Assert.True(failedWrites <= 1, $"{failedWrites} writes failed; only the one in flight at the shutdown may");
            Assert.True(firstWrite <= CheckInterval + TimeSpan.FromSeconds(1), $"first write on the new primary {firstWrite.TotalMilliseconds:0} ms after the promotion");

            // The failover is counted and shown.
            Assert.Equal(1, await CounterAsync(proxy, "sluice_failovers_total", Database));
            Assert.True(await CounterAsync(proxy, "sluice_failover_wait_seconds_count", Database) >= 1, "the writes that waited are in sluice_failover_wait_seconds");
            var (count, lastAt) = proxy.Server.Runtime.Health.Failovers.Of(Database);
            Assert.Equal(1, count);
            Assert.NotNull(lastAt);
            await AssertShowServersAsync(proxy, cluster.ReplicaPort, failovers: 1);
        }
    }

    [Fact]
    public async Task Fifty_pooled_Npgsql_connections_ride_out_a_fast_shutdown_and_promotion_without_reconnecting()
    {
        const int Workers = 50;
        var (failedWrites, firstWrite, proxy, cluster) = await FailOverUnderLoadAsync(Workers);
        await using (cluster)
        await using (proxy)
        {
            Assert.True(failedWrites <= Workers, $"{failedWrites} writes failed; at most one in flight per connection at the shutdown may");
            Assert.True(firstWrite <= CheckInterval + TimeSpan.FromSeconds(1), $"first write on the new primary {firstWrite.TotalMilliseconds:0} ms after the promotion");
        }
    }

    [Fact]
    public async Task A_transaction_block_open_when_the_primary_stops_is_lost_and_the_next_one_runs_on_the_new_primary()
    {
        await using var cluster = await StartClusterAsync();
        await using var proxy = await StartProxyAsync(cluster, Routing);
        await using var client = new NpgsqlConnection(ConnectionString(proxy, cluster));
        await client.OpenAsync();
        var pid = client.ProcessID;

        var transaction = await client.BeginTransactionAsync();
        await ExecuteAsync(client, $"INSERT INTO {Table} VALUES (1, 1)");

        await cluster.StopServerAsync(ClusterNode.Primary);
        await cluster.PromoteReplicaAsync();

        // The client was idle in its block: its next statement hears that the block is gone, with the server's words.
        var lost = await Assert.ThrowsAsync<PostgresException>(() => ExecuteAsync(client, $"INSERT INTO {Table} VALUES (1, 2)"));
        output.WriteLine($"{lost.InvariantSeverity} {lost.SqlState}: {lost.MessageText}");
        Assert.Equal("ERROR", lost.InvariantSeverity);
        Assert.Equal(PostgresErrorCodes.ConnectionFailure, lost.SqlState);
        Assert.Contains(AdministratorCommand, lost.MessageText, StringComparison.Ordinal);
        var aborted = await Assert.ThrowsAsync<PostgresException>(() => ExecuteAsync(client, "SELECT 1"));
        Assert.Equal(PostgresErrorCodes.InFailedSqlTransaction, aborted.SqlState);
        await transaction.RollbackAsync();
        await transaction.DisposeAsync();

        await using (var next = await client.BeginTransactionAsync())
        {
            await ExecuteAsync(client, $"INSERT INTO {Table} VALUES (1, 3)");
            Assert.False(await ScalarAsync<bool>(client, "SELECT pg_is_in_recovery()"), "the transaction runs on the promoted server");
            await next.CommitAsync();
        }

        Assert.Equal(pid, client.ProcessID);
        Assert.Equal(ConnectionState.Open, client.State);
        Assert.Equal("3", await cluster.ExecuteAsync(cluster.ReplicaPort, $"SELECT string_agg(n::text, ',') FROM {Table}"));
    }

    [Fact]
    public async Task A_server_terminated_between_two_autocommit_statements_costs_the_client_nothing_but_that_server()
    {
        var application = $"terminated_{Guid.NewGuid():N}";
        await using var proxy = await fixture.StartProxyAsync(fixture.CreateProxyConfig(PoolMode.Transaction, poolSize: 1));
        var builder = new NpgsqlConnectionStringBuilder(proxy.ConnectionString(TestRoles.Scram)) { ApplicationName = application };
        await using var client = new NpgsqlConnection(builder.ConnectionString);
        await client.OpenAsync();
        var clientPid = client.ProcessID;
        var serverPid = await ScalarAsync<int>(client, "SELECT pg_backend_pid()");

        // No waiting for the backend to go: the next statement may find the dead server still in the pool.
        Assert.Equal("t", await fixture.Cluster.ExecuteAsync(fixture.PrimaryPort, $"SELECT pg_terminate_backend({serverPid})", PostgresFixture.Database));
        int nextPid;
        try
        {
            nextPid = await ScalarAsync<int>(client, "SELECT pg_backend_pid()");
        }
        catch (PostgresException lost)
        {
            // It reached the dying server first: that statement fails, with an ERROR, and nothing else does.
            output.WriteLine($"{lost.InvariantSeverity} {lost.SqlState}: {lost.MessageText}");
            Assert.Equal("ERROR", lost.InvariantSeverity);
            Assert.Equal(PostgresErrorCodes.ConnectionFailure, lost.SqlState);
            nextPid = await ScalarAsync<int>(client, "SELECT pg_backend_pid()");
        }

        Assert.NotEqual(serverPid, nextPid);
        Assert.Equal(ConnectionState.Open, client.State);
        Assert.Equal(clientPid, client.ProcessID);
        Assert.Equal(1, await ScalarAsync<int>(client, "SELECT 1"));
    }

    [Fact]
    public async Task A_COMMIT_of_a_block_whose_server_was_lost_unseen_fails_and_the_rows_are_not_there()
    {
        var table = $"lost_commit_{Guid.NewGuid():N}";
        await fixture.Cluster.ExecuteAsync(fixture.PrimaryPort, $"CREATE TABLE {table} (id int)", PostgresFixture.Database);
        await using var proxy = await fixture.StartProxyAsync(fixture.CreateProxyConfig(PoolMode.Transaction, poolSize: 2));
        await using var client = new NpgsqlConnection(proxy.ConnectionString(TestRoles.Scram));
        await client.OpenAsync();
        var transaction = await client.BeginTransactionAsync();
        await ExecuteAsync(client, $"INSERT INTO {table} VALUES (1)");
        var serverPid = await ScalarAsync<int>(client, "SELECT pg_backend_pid()");

        Assert.Equal("t", await fixture.Cluster.ExecuteAsync(fixture.PrimaryPort, $"SELECT pg_terminate_backend({serverPid})", PostgresFixture.Database));
        var stopwatch = Stopwatch.StartNew();
        while (await fixture.Cluster.ExecuteAsync(fixture.PrimaryPort, $"SELECT count(*) FROM pg_stat_activity WHERE pid = {serverPid}", PostgresFixture.Database) != "0")
        {
            Assert.True(stopwatch.Elapsed < WaitLimit, "the terminated backend did not exit");
            await Task.Delay(20);
        }

        // The client never heard of the loss: its COMMIT must not look like one that happened.
        var error = await Assert.ThrowsAsync<PostgresException>(() => transaction.CommitAsync());
        output.WriteLine($"{error.InvariantSeverity} {error.SqlState}: {error.MessageText}");
        Assert.Equal(PostgresErrorCodes.ConnectionFailure, error.SqlState);
        Assert.Equal("ERROR", error.InvariantSeverity);
        await transaction.DisposeAsync();
        Assert.Equal(ConnectionState.Open, client.State);
        Assert.Equal(0L, await ScalarAsync<long>(client, $"SELECT count(*) FROM {table}"));
    }

    [Fact]
    public async Task Without_a_new_primary_waiting_writes_get_08006_after_failover_wait_and_run_again_once_a_primary_is_back()
    {
        const int Clients = 5;
        var wait = TimeSpan.FromSeconds(2);
        await using var cluster = await StartClusterAsync();
        var config = AutoRoles(OwnClusterConfig(cluster, Routing with { FailoverWait = wait }));
        await using var proxy = await StartProxyAsync(cluster, config);
        var clients = new List<NpgsqlConnection>();
        try
        {
            for (var i = 0; i < Clients; i++)
            {
                var client = new NpgsqlConnection(ConnectionString(proxy, cluster));
                await client.OpenAsync();
                await ExecuteAsync(client, $"INSERT INTO {Table} VALUES ({i}, 0)");
                clients.Add(client);
            }

            await cluster.StopServerAsync(ClusterNode.Primary);

            var attempts = clients.Select((client, i) => TimedWriteErrorAsync(client, i)).ToList();
            foreach (var (error, elapsed) in await Task.WhenAll(attempts))
            {
                output.WriteLine($"{elapsed.TotalMilliseconds:0} ms: {error.InvariantSeverity} {error.SqlState}: {error.MessageText}");
                Assert.Equal(PostgresErrorCodes.ConnectionFailure, error.SqlState);
                Assert.Equal("ERROR", error.InvariantSeverity);
                Assert.True(elapsed >= wait - TimeSpan.FromMilliseconds(100), $"refused after {elapsed.TotalMilliseconds:0} ms, before failover_wait");
                Assert.True(elapsed < wait + TimeSpan.FromSeconds(10), $"a write hung {elapsed.TotalMilliseconds:0} ms");
            }

            foreach (var client in clients)
            {
                Assert.Equal(ConnectionState.Open, client.State);
                Assert.True(await ScalarAsync<bool>(client, "SELECT pg_is_in_recovery()"), "reads go on on the replica");
            }

            // Writes sent while there is still no primary wait for it and run as soon as it is back.
            proxy.Server.Reload(AutoRoles(OwnClusterConfig(cluster, Routing with { FailoverWait = WaitLimit })));
            var waiting = clients.Select((client, i) => ExecuteAsync(client, $"INSERT INTO {Table} VALUES ({i}, 1)")).ToList();
            await Task.Delay(500);
            Assert.All(waiting, write => Assert.False(write.IsCompleted, "a write did not wait for the primary"));
            await cluster.StartServerAsync(ClusterNode.Primary);
            var started = Stopwatch.StartNew();
            await Task.WhenAll(waiting);
            output.WriteLine($"waiting writes done {started.Elapsed.TotalMilliseconds:0} ms after the primary started");
            Assert.Equal(Clients.ToString(System.Globalization.CultureInfo.InvariantCulture), await cluster.ExecuteOnPrimaryAsync($"SELECT count(*) FROM {Table} WHERE n = 1"));
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Session_mode_still_ends_the_session_with_a_FATAL_when_its_server_is_lost()
    {
        await using var proxy = await fixture.StartProxyAsync(fixture.CreateProxyConfig(PoolMode.Session, poolSize: 1));
        await using var client = new NpgsqlConnection(proxy.ConnectionString(TestRoles.Scram));
        await client.OpenAsync();
        var serverPid = await ScalarAsync<int>(client, "SELECT pg_backend_pid()");

        var sleeping = ExecuteAsync(client, "SELECT pg_sleep(30)");
        await Task.Delay(300);
        Assert.Equal("t", await fixture.Cluster.ExecuteAsync(fixture.PrimaryPort, $"SELECT pg_terminate_backend({serverPid})", PostgresFixture.Database));

        // In session mode the session was the server's: it ends with it, as PostgreSQL's own would.
        var error = await Assert.ThrowsAnyAsync<NpgsqlException>(() => sleeping);
        var server = error as PostgresException ?? error.InnerException as PostgresException;
        Assert.NotNull(server);
        output.WriteLine($"{server.InvariantSeverity} {server.SqlState}: {server.MessageText}");
        Assert.Equal("FATAL", server.InvariantSeverity);
        Assert.Contains(server.SqlState, new[] { PostgresErrorCodes.AdminShutdown, PostgresErrorCodes.ConnectionFailure });
        Assert.NotEqual(ConnectionState.Open, client.State);
    }

    [Fact]
    public async Task A_replica_that_stops_fails_only_the_read_in_flight_on_it_and_later_reads_go_to_the_primary()
    {
        await using var cluster = await StartClusterAsync();
        await using var proxy = await StartProxyAsync(cluster, Routing);
        await using var reader = new NpgsqlConnection(ConnectionString(proxy, cluster));
        await using var bystander = new NpgsqlConnection(ConnectionString(proxy, cluster));
        await reader.OpenAsync();
        await bystander.OpenAsync();
        Assert.True(await ScalarAsync<bool>(bystander, "SELECT pg_is_in_recovery()"), "reads go to the replica");

        var inFlight = ExecuteAsync(reader, "/* sluice:replica */ SELECT pg_sleep(30)");
        await Task.Delay(300);
        await cluster.StopServerAsync(ClusterNode.Replica);

        var lost = await Assert.ThrowsAsync<PostgresException>(() => inFlight);
        output.WriteLine($"{lost.InvariantSeverity} {lost.SqlState}: {lost.MessageText}");
        Assert.Equal("ERROR", lost.InvariantSeverity);
        Assert.Equal(PostgresErrorCodes.ConnectionFailure, lost.SqlState);
        Assert.Contains(AdministratorCommand, lost.MessageText, StringComparison.Ordinal);

        foreach (var client in new[] { reader, bystander })
        {
            Assert.False(await ScalarAsync<bool>(client, "SELECT pg_is_in_recovery()"), "later reads run on the primary");
            Assert.Equal(ConnectionState.Open, client.State);
        }

        var replica = proxy.Server.Runtime.Health.Replicas().Single(row => row.Server == $"127.0.0.1:{cluster.ReplicaPort}");
        Assert.False(replica.Up, "the stopped replica is down at once, before its next interval");
    }

    /// <summary>
    /// A cluster of its own, a proxy with both servers role = "auto", a workload of <paramref name="workers"/>, then a
    /// fast shutdown of the primary and the replica's promotion. Asserts what holds for any number of workers (no
    /// connection reopened, no read failed) and returns the rest for the caller to judge.
    /// </summary>
    private async Task<(long FailedWrites, TimeSpan FirstWriteAfterPromotion, RunningProxy Proxy, PostgresCluster Cluster)> FailOverUnderLoadAsync(int workers)
    {
        var cluster = await StartClusterAsync();
        RunningProxy? proxy = null;
        try
        {
            proxy = await StartProxyAsync(cluster, Routing);
            await using var workload = new FailoverWorkload(ConnectionString(proxy, cluster), workers, Table, output);
            await workload.WaitForWritesAsync(Math.Max(20, workers), WaitLimit);

            var stopping = Stopwatch.StartNew();
            await cluster.StopServerAsync(ClusterNode.Primary);
            output.WriteLine($"primary stopped (pg_ctl stop -m fast) in {stopping.Elapsed.TotalMilliseconds:0} ms");
            await cluster.PromoteReplicaAsync();
            workload.Mark();
            output.WriteLine($"replica promoted {stopping.Elapsed.TotalMilliseconds:0} ms after the stop began");

            await workload.WaitForWritesAsync(Math.Max(20, workers), WaitLimit);
            await workload.StopAsync();

            Assert.Equal(0, workload.FailedReads);
            Assert.True(workload.ConnectionsOpened <= workers, $"{workload.ConnectionsOpened - workers} connections were reopened");
            var firstWrite = workload.FirstWriteAfterMark ?? throw new InvalidOperationException("no write after the promotion");
            output.WriteLine($"first write on the new primary {firstWrite.TotalMilliseconds:0} ms after the promotion returned");
            return (workload.FailedWrites, firstWrite, proxy, cluster);
        }
        catch
        {
            if (proxy is not null)
            {
                await proxy.DisposeAsync();
            }

            await cluster.DisposeAsync();
            throw;
        }
    }

    private static async Task<PostgresCluster> StartClusterAsync()
    {
        var cluster = await PostgresCluster.StartAsync(new PostgresClusterOptions());
        await cluster.ExecuteOnPrimaryAsync($"CREATE TABLE {Table} (worker int, n int)");
        await cluster.WaitForReplicaCatchUpAsync(WaitLimit);
        return cluster;
    }

    private Task<RunningProxy> StartProxyAsync(PostgresCluster cluster, RoutingSection routing) =>
        StartProxyAsync(cluster, AutoRoles(OwnClusterConfig(cluster, routing)));

    private async Task<RunningProxy> StartProxyAsync(PostgresCluster cluster, ProxyConfig config)
    {
        var proxy = new RunningProxy(await ProxyServer.StartAsync(config, Logging(output)), config);
        var health = proxy.Server.Runtime.Health;
        await WaitUntilAsync(output, health, () => ReadsGoTo(health, Database) == cluster.ReplicaPort && health.Select(Database, RouteKind.Write).Server?.Port == cluster.PrimaryPort, "both servers checked");
        return proxy;
    }

    /// <summary>The operator's setup: neither server's role is configured, the health checks find them.</summary>
    private static ProxyConfig AutoRoles(ProxyConfig config) => config with
    {
        Databases = [.. config.Databases.Select(database => database with { Servers = [.. database.Servers.Select(server => server with { Role = ServerRole.Auto })] })],
    };

    private static string ConnectionString(RunningProxy proxy, PostgresCluster cluster) =>
        proxy.ConnectionString(cluster.Superuser, cluster.SuperuserPassword, Database);

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<(PostgresException Error, TimeSpan Elapsed)> TimedWriteErrorAsync(NpgsqlConnection client, int worker)
    {
        var stopwatch = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<PostgresException>(() => ExecuteAsync(client, $"INSERT INTO {Table} VALUES ({worker}, -1)"));
        return (error, stopwatch.Elapsed);
    }

    /// <summary>SHOW SERVERS, as the admin console computes it: the new primary's connections, up, with the failover counted.</summary>
    private static async Task AssertShowServersAsync(RunningProxy proxy, int newPrimaryPort, long failovers)
    {
        var columns = ServersView.Columns.Select(column => column.Name).ToList();
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            var rows = ServersView.Rows(proxy.Server.Runtime);
            var row = rows.FirstOrDefault(r => (long)r[columns.IndexOf("port")]! == newPrimaryPort);
            if (row is not null)
            {
                Assert.Equal("primary", row[columns.IndexOf("role")]);
                Assert.Equal("up", row[columns.IndexOf("health")]);
                Assert.Equal(failovers, row[columns.IndexOf("failovers")]);
                Assert.NotNull(row[columns.IndexOf("last_failover")]);
                return;
            }

            Assert.True(stopwatch.Elapsed < WaitLimit, "no server connection to the new primary in SHOW SERVERS");
            await Task.Delay(20);
        }
    }
}
