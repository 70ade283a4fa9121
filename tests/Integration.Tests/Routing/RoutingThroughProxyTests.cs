using Npgsql;
using Sluice.Integration.Tests.Fixtures;
using Sluice.Proxy.Configuration;
using Xunit.Abstractions;
using static Sluice.Integration.Tests.Routing.RoutingTestSupport;

namespace Sluice.Integration.Tests.Routing;

/// <summary>
/// Where statements run when real clients (Npgsql: extended protocol; psql: simple protocol) go through Sluice in
/// transaction mode, seen by the statements themselves (pg_is_in_recovery()) and by per-server counters.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class RoutingThroughProxyTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private const string Database = PostgresFixture.Database;

    [Theory]
    [InlineData("SELECT pg_is_in_recovery()", true)]
    [InlineData("VALUES (pg_is_in_recovery())", true)]
    [InlineData("SELECT pg_is_in_recovery() FROM routing_items WHERE id = 0", true)]
    [InlineData("EXPLAIN (COSTS OFF) SELECT pg_is_in_recovery()", true)]
    [InlineData("SELECT pg_is_in_recovery(), nextval('routing_seq')", false)]
    [InlineData("SELECT pg_is_in_recovery() FROM routing_items WHERE id = 0 FOR UPDATE", false)]
    [InlineData("SELECT pg_is_in_recovery() FROM routing_items WHERE id = 0 FOR SHARE", false)]
    [InlineData("WITH w AS (INSERT INTO routing_items (id) VALUES (-1) RETURNING id) SELECT pg_is_in_recovery() FROM w", false)]
    [InlineData("SELECT routing_probe()", false)]
    [InlineData("/* sluice:primary */ SELECT pg_is_in_recovery()", false)]
    [InlineData("/* sluice:replica */ SELECT routing_probe()", true)]
    public async Task Statement_outside_a_transaction_runs_where_the_rules_say(string sql, bool onReplica)
    {
        await using var proxy = await StartReadyProxyAsync();
        await using var connection = await OpenAsync(proxy);

        if (sql.StartsWith("EXPLAIN", StringComparison.Ordinal))
        {
            // EXPLAIN shows no value; where it ran shows in the route counter instead.
            var before = await CounterAsync(proxy, "sluice_queries_total", Database, "replica");
            await ScalarAsync<string>(connection, sql);
            Assert.Equal(before + 1, await CounterAsync(proxy, "sluice_queries_total", Database, "replica"));
            return;
        }

        Assert.Equal(onReplica, await RanOnReplicaAsync(connection, sql));
    }

    [Theory]
    [InlineData("SELECT pg_is_in_recovery()", true)]
    [InlineData("BEGIN; SELECT pg_is_in_recovery(); COMMIT", false)]
    [InlineData("BEGIN READ ONLY; SELECT pg_is_in_recovery(); COMMIT", true)]
    [InlineData("START TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY; SELECT pg_is_in_recovery(); COMMIT", true)]
    [InlineData("BEGIN READ WRITE; SELECT pg_is_in_recovery(); COMMIT", false)]
    [InlineData("SELECT pg_is_in_recovery(); INSERT INTO routing_items (id) VALUES (-2)", false)]
    [InlineData("/* sluice:primary */ SELECT pg_is_in_recovery()", false)]
    public async Task Simple_protocol_query_from_psql_runs_where_the_rules_say(string sql, bool onReplica)
    {
        await using var proxy = await StartReadyProxyAsync();

        var result = await fixture.RunPsqlAsync(proxy.Port, sql, fixture.Cluster.Superuser, fixture.Cluster.SuperuserPassword);

        Assert.True(result.Succeeded, result.StandardError);
        var values = result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(line => line is "t" or "f").ToList();
        Assert.Equal([onReplica ? "t" : "f"], values);
    }

    [Fact]
    public async Task Transactions_run_on_the_primary_unless_opened_read_only()
    {
        await using var proxy = await StartReadyProxyAsync();
        await using var connection = await OpenAsync(proxy);

        await using (var transaction = await connection.BeginTransactionAsync())
        {
            Assert.False(await RanOnReplicaAsync(connection));
            Assert.False(await RanOnReplicaAsync(connection));
            await transaction.CommitAsync();
        }

        await ExecuteAsync(connection, "BEGIN READ ONLY");
        Assert.True(await RanOnReplicaAsync(connection));
        Assert.Equal(0, await ScalarAsync<int>(connection, "SELECT id FROM routing_items WHERE id = 0"));
        Assert.True(await RanOnReplicaAsync(connection));
        await ExecuteAsync(connection, "COMMIT");

        await ExecuteAsync(connection, "BEGIN");
        Assert.False(await RanOnReplicaAsync(connection));
        await ExecuteAsync(connection, "ROLLBACK");

        Assert.True(await RanOnReplicaAsync(connection));
    }

    [Fact]
    public async Task Select_into_and_copy_from_run_on_the_primary()
    {
        await using var proxy = await StartReadyProxyAsync();
        await using var connection = await OpenAsync(proxy);
        await fixture.Cluster.ExecuteAsync(fixture.PrimaryPort, "DROP TABLE IF EXISTS routing_select_into; DELETE FROM routing_items WHERE id = 4242", Database);

        // Either fails with 25006 (read-only transaction) on a standby: success means the primary took it.
        await ExecuteAsync(connection, "SELECT pg_is_in_recovery() AS in_recovery INTO routing_select_into");
        await using (var writer = await connection.BeginTextImportAsync("COPY routing_items (id) FROM STDIN"))
        {
            await writer.WriteLineAsync("4242");
        }

        Assert.Equal("f", await fixture.Cluster.ExecuteAsync(fixture.PrimaryPort, "SELECT in_recovery FROM routing_select_into", Database));
        Assert.Equal("1", await fixture.Cluster.ExecuteAsync(fixture.PrimaryPort, "SELECT count(*) FROM routing_items WHERE id = 4242", Database));
        await fixture.Cluster.ExecuteAsync(fixture.PrimaryPort, "DROP TABLE routing_select_into; DELETE FROM routing_items WHERE id = 4242", Database);
    }

    [Theory]
    [InlineData("SELEC pg_is_in_recovery()", false)]
    [InlineData("SELECT 'unterminated", false)]
    [InlineData("SELEC pg_is_in_recovery()", true)]
    [InlineData("SELECT 'unterminated", true)]
    public async Task Statement_that_does_not_parse_never_reaches_a_replica(string sql, bool simpleProtocol)
    {
        await using var proxy = await StartReadyProxyAsync();
        await using var connection = await OpenAsync(proxy);
        Assert.True(await RanOnReplicaAsync(connection));
        var replicaBefore = await CounterAsync(proxy, "sluice_queries_total", Database, "replica");
        var primaryBefore = await CounterAsync(proxy, "sluice_queries_total", Database, "primary");

        if (simpleProtocol)
        {
            var psql = await fixture.RunPsqlAsync(proxy.Port, sql, fixture.Cluster.Superuser, fixture.Cluster.SuperuserPassword);
            Assert.Contains("ERROR:", psql.StandardError, StringComparison.Ordinal);
        }
        else
        {
            var error = await Assert.ThrowsAsync<PostgresException>(() => ExecuteAsync(connection, sql));
            Assert.Equal(PostgresErrorCodes.SyntaxError, error.SqlState);
        }

        Assert.Equal((primaryBefore + 1, replicaBefore), (await CounterAsync(proxy, "sluice_queries_total", Database, "primary"), await CounterAsync(proxy, "sluice_queries_total", Database, "replica")));
        Assert.True(await RanOnReplicaAsync(connection), "the session goes on routing reads after the error");
    }

    [Fact]
    public async Task Set_sluice_route_is_answered_by_the_proxy_and_steers_the_session()
    {
        // One server connection per pool: a SET that leaked to a server would show in the next statement there.
        await using var proxy = await StartReadyProxyAsync(fixture.CreateProxyConfig(PoolMode.Transaction, 1));
        await using var connection = await OpenAsync(proxy);
        Assert.Equal("auto", await ScalarAsync<string>(connection, "SHOW sluice.route"));

        await ExecuteAsync(connection, "SET sluice.route = 'primary'");
        Assert.Equal("primary", await ScalarAsync<string>(connection, "SHOW sluice.route"));
        Assert.False(await RanOnReplicaAsync(connection));
        Assert.False(await RanOnReplicaAsync(connection, "BEGIN READ ONLY; SELECT pg_is_in_recovery(); COMMIT"));
        Assert.Null(await ServerSettingAsync(connection));

        await ExecuteAsync(connection, "SET sluice.route TO replica");
        Assert.Equal("replica", await ScalarAsync<string>(connection, "SHOW sluice.route"));
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            Assert.True(await RanOnReplicaAsync(connection));
            await transaction.RollbackAsync();
        }

        var write = await Assert.ThrowsAsync<PostgresException>(() => ExecuteAsync(connection, "INSERT INTO routing_items (id) VALUES (-5)"));
        Assert.Equal(PostgresErrorCodes.ReadOnlySqlTransaction, write.SqlState);
        Assert.Null(await ServerSettingAsync(connection));

        await ExecuteAsync(connection, "SET sluice.route = 'auto'");
        Assert.Equal("auto", await ScalarAsync<string>(connection, "SHOW sluice.route"));
        Assert.True(await RanOnReplicaAsync(connection));
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            Assert.False(await RanOnReplicaAsync(connection));
            Assert.Null(await ServerSettingAsync(connection));
            await transaction.CommitAsync();
        }

        var invalid = await Assert.ThrowsAsync<PostgresException>(() => ExecuteAsync(connection, "SET sluice.route = 'sideways'"));
        Assert.Equal(PostgresErrorCodes.InvalidParameterValue, invalid.SqlState);
        Assert.Equal("auto", await ScalarAsync<string>(connection, "SHOW sluice.route"));
    }

    [Fact]
    public async Task Set_sluice_route_over_the_simple_protocol_is_answered_by_the_proxy()
    {
        await using var proxy = await StartReadyProxyAsync(fixture.CreateProxyConfig(PoolMode.Transaction, 1));

        // psql -f sends each statement as its own Query message, all in one session.
        var printed = await fixture.Cluster.ExecuteAsync(proxy.Port, """
            SHOW sluice.route;
            SET sluice.route = 'primary';
            SHOW sluice.route;
            SELECT pg_is_in_recovery();
            SELECT coalesce(current_setting('sluice.route', true), '(null)');
            SET sluice.route = 'replica';
            BEGIN;
            SELECT pg_is_in_recovery();
            COMMIT;
            RESET sluice.route;
            SHOW sluice.route;
            SELECT pg_is_in_recovery();
            """, Database);

        Assert.Equal(["auto", "primary", "f", "(null)", "t", "auto", "t"], printed.Split('\n', StringSplitOptions.TrimEntries));
    }

    [Fact]
    public async Task Extended_protocol_reads_go_to_the_replica_and_a_batch_with_a_write_to_the_primary()
    {
        await using var proxy = await StartReadyProxyAsync();
        await using var connection = await OpenAsync(proxy);

        await using (var parameterized = new NpgsqlCommand("SELECT pg_is_in_recovery(), @id::int", connection))
        {
            parameterized.Parameters.AddWithValue("id", 7);
            Assert.True((bool)(await parameterized.ExecuteScalarAsync())!);
        }

        await using (var prepared = new NpgsqlCommand("SELECT pg_is_in_recovery() FROM routing_items WHERE id = @id", connection))
        {
            prepared.Parameters.AddWithValue("id", 0);
            await prepared.PrepareAsync();
            for (var i = 0; i < 3; i++)
            {
                Assert.True((bool)(await prepared.ExecuteScalarAsync())!);
            }
        }

        Assert.Equal([true, true], await BatchFirstColumnsAsync(connection, "SELECT pg_is_in_recovery()", "SELECT pg_is_in_recovery() FROM routing_items WHERE id = 0"));
        Assert.Equal([false], await BatchFirstColumnsAsync(connection, "SELECT pg_is_in_recovery()", "INSERT INTO routing_items (id) VALUES (-3)"));
        Assert.Equal([false], await BatchFirstColumnsAsync(connection, "INSERT INTO routing_items (id) VALUES (-3)", "SELECT pg_is_in_recovery()"));
        Assert.True(await RanOnReplicaAsync(connection));
    }

    [Fact]
    public async Task Read_write_split_off_keeps_everything_on_the_primary()
    {
        var config = fixture.CreateProxyConfig() with { Routing = FastRouting with { ReadWriteSplit = false } };
        await using var proxy = await fixture.StartProxyAsync(config, Logging(output));
        await WaitUntilAsync(output, proxy.Server.Runtime.Health, () => Row(proxy.Server.Runtime.Health, $"127.0.0.1:{fixture.ReplicaPort}") is { Up: true, WithinBudget: true }, "the replica checked and within budget");
        await using var connection = await OpenAsync(proxy);

        Assert.False(await RanOnReplicaAsync(connection));
        Assert.False(await RanOnReplicaAsync(connection, "BEGIN READ ONLY; SELECT pg_is_in_recovery(); COMMIT"));
        await using (var parameterized = new NpgsqlCommand("SELECT pg_is_in_recovery(), @id::int", connection))
        {
            parameterized.Parameters.AddWithValue("id", 1);
            Assert.False((bool)(await parameterized.ExecuteScalarAsync())!);
        }

        Assert.Equal(0, await CounterAsync(proxy, "sluice_queries_total", Database, "replica"));
        Assert.True(await CounterAsync(proxy, "sluice_queries_total", Database, "primary") >= 3);
    }

    [Fact]
    public async Task Reads_are_counted_on_the_replica_and_writes_on_the_primary_per_server()
    {
        var preloaded = await fixture.Cluster.ExecuteAsync(fixture.PrimaryPort, "SHOW shared_preload_libraries");
        await using var proxy = await StartReadyProxyAsync();
        await using var connection = await OpenAsync(proxy);
        const int Reads = 40;
        const int Writes = 10;
        var usePgStatStatements = preloaded.Contains("pg_stat_statements", StringComparison.Ordinal);
        if (usePgStatStatements)
        {
            await fixture.Cluster.ExecuteAsync(fixture.PrimaryPort, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements", Database);
            await fixture.Cluster.WaitForReplicaCatchUpAsync(WaitLimit);
            await fixture.Cluster.ExecuteAsync(fixture.PrimaryPort, "SELECT pg_stat_statements_reset()", Database);
            await fixture.Cluster.ExecuteAsync(fixture.ReplicaPort, "SELECT pg_stat_statements_reset()", Database);
        }

        var before = await RouteCountersAsync(proxy);
        for (var i = 0; i < Reads; i++)
        {
            await ScalarAsync<int>(connection, "SELECT count(*)::int AS routing_count_probe FROM routing_items");
        }

        for (var i = 0; i < Writes; i++)
        {
            await ExecuteAsync(connection, "INSERT INTO routing_items (id) VALUES (-4)");
        }

        var after = await RouteCountersAsync(proxy);
        output.WriteLine($"sluice_queries_total primary +{after.Primary - before.Primary}, replica +{after.Replica - before.Replica}");
        Assert.Equal(Reads, after.Replica - before.Replica);
        Assert.Equal(Writes, after.Primary - before.Primary);

        if (!usePgStatStatements)
        {
            output.WriteLine("pg_stat_statements is not preloaded: per-server counts from the metrics only");
            return;
        }

        const string Calls = "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE strpos(query, 'routing_count' || '_probe') > 0";
        const string Inserts = "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE strpos(query, 'INSERT INTO routing' || '_items') > 0";
        var replicaReads = await fixture.Cluster.ExecuteAsync(fixture.ReplicaPort, Calls, Database);
        var primaryReads = await fixture.Cluster.ExecuteAsync(fixture.PrimaryPort, Calls, Database);
        var primaryWrites = await fixture.Cluster.ExecuteAsync(fixture.PrimaryPort, Inserts, Database);
        output.WriteLine($"pg_stat_statements: reads on the replica {replicaReads}, on the primary {primaryReads}; inserts on the primary {primaryWrites}");
        Assert.Equal((Reads.ToString(System.Globalization.CultureInfo.InvariantCulture), "0"), (replicaReads, primaryReads));
        Assert.Equal(Writes.ToString(System.Globalization.CultureInfo.InvariantCulture), primaryWrites);
    }

    private async Task<RunningProxy> StartReadyProxyAsync(ProxyConfig? config = null)
    {
        await fixture.Cluster.ExecuteAsync(fixture.PrimaryPort, """
            CREATE TABLE IF NOT EXISTS routing_items (id int);
            CREATE SEQUENCE IF NOT EXISTS routing_seq;
            CREATE OR REPLACE FUNCTION routing_probe() RETURNS boolean LANGUAGE sql AS 'SELECT pg_is_in_recovery()';
            DELETE FROM routing_items WHERE id < 0;
            INSERT INTO routing_items (id) SELECT 0 WHERE NOT EXISTS (SELECT FROM routing_items WHERE id = 0);
            """, Database);
        await fixture.Cluster.WaitForReplicaCatchUpAsync(WaitLimit);
        var proxy = await fixture.StartProxyAsync((config ?? fixture.CreateProxyConfig()) with { Routing = FastRouting }, Logging(output));
        try
        {
            var health = proxy.Server.Runtime.Health;
            await WaitUntilAsync(output, health, () => ReadsGoTo(health, Database) == fixture.ReplicaPort, "reads on the replica");
            return proxy;
        }
        catch
        {
            await proxy.DisposeAsync();
            throw;
        }
    }

    private async Task<NpgsqlConnection> OpenAsync(RunningProxy proxy)
    {
        var connection = new NpgsqlConnection(proxy.ConnectionString(fixture.Cluster.Superuser, fixture.Cluster.SuperuserPassword));
        await connection.OpenAsync();
        return connection;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>current_setting('sluice.route', true) on whatever server the statement lands on: null (or empty) unless a SET leaked.</summary>
    private static async Task<string?> ServerSettingAsync(NpgsqlConnection connection)
    {
        await using var command = new NpgsqlCommand("SELECT current_setting('sluice.route', true)", connection);
        var value = await command.ExecuteScalarAsync();
        return value is string { Length: > 0 } text ? text : null;
    }

    /// <summary>Runs the statements as one pipelined batch; the first column of each statement that returned rows.</summary>
    private static async Task<List<bool>> BatchFirstColumnsAsync(NpgsqlConnection connection, params string[] statements)
    {
        await using var batch = new NpgsqlBatch(connection);
        foreach (var statement in statements)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand(statement));
        }

        var values = new List<bool>();
        await using var reader = await batch.ExecuteReaderAsync();
        do
        {
            while (await reader.ReadAsync())
            {
                values.Add(reader.GetBoolean(0));
            }
        }
        while (await reader.NextResultAsync());

        return values;
    }

    private static async Task<(double Primary, double Replica)> RouteCountersAsync(RunningProxy proxy) =>
        (await CounterAsync(proxy, "sluice_queries_total", Database, "primary"), await CounterAsync(proxy, "sluice_queries_total", Database, "replica"));
}
