using System.Diagnostics;
using System.Globalization;
using Npgsql;
using Sluice.Integration.Tests.Fixtures;
using Sluice.Proxy.Configuration;
using Xunit.Abstractions;
using static Sluice.Integration.Tests.Routing.RoutingTestSupport;

namespace Sluice.Integration.Tests.Routing;

/// <summary>
/// routing.read_consistency = "causal" (the default) with read_write_split on: a read through Sluice sees every write
/// transaction that completed through it before the read began, whichever connection or user wrote it. The shared
/// cluster's replica replays within milliseconds, so reads that go to it too early would miss rows now and then; the
/// paused-replica test makes that certain.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class CausalReadsThroughProxyTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private const string Database = PostgresFixture.Database;

    // 10,000 rounds when they fit in this; the count reached is printed and must be substantial.
    private const int Rounds = 10_000;
    private static readonly TimeSpan RoundsBudget = TimeSpan.FromSeconds(60);

    /// <summary>Defaults (causal, max_read_wait 5ms) with the test suite's fast check intervals.</summary>
    private static readonly RoutingSection CausalRouting = FastRouting with { ReadConsistency = new RoutingSection().ReadConsistency };

    [Fact]
    public async Task The_demo_flow_in_psql_reads_the_row_just_inserted_every_time()
    {
        await using var proxy = await StartAsync(CausalRouting);
        var superuser = fixture.Cluster.Superuser;
        var password = fixture.Cluster.SuperuserPassword;
        for (var i = 0; i < 10; i++)
        {
            var table = $"causal_demo_{i}";
            var write = await fixture.RunPsqlAsync(proxy.Port, $"drop table if exists {table}; create table {table}(id int); insert into {table} values (1);", superuser, password);
            Assert.True(write.Succeeded, write.StandardError);

            var read = await fixture.RunPsqlAsync(proxy.Port, $"select count(*) from {table};", superuser, password);

            Assert.True(read.Succeeded, read.StandardError);
            Assert.Equal("1", read.StandardOutput.Trim());
        }

        await fixture.Cluster.ExecuteAsync(fixture.PrimaryPort, string.Concat(Enumerable.Range(0, 10).Select(i => $"DROP TABLE causal_demo_{i};")), Database);
    }

    [Fact]
    public async Task A_row_committed_on_one_connection_is_read_at_once_on_another()
    {
        await using var proxy = await StartAsync(CausalRouting);
        var superuser = proxy.ConnectionString(fixture.Cluster.Superuser, fixture.Cluster.SuperuserPassword);
        await RoundTripsAsync(proxy, "causal_rounds", superuser, superuser, pooled: false);
    }

    [Fact]
    public async Task A_row_committed_by_one_user_is_read_at_once_by_another_user_of_the_database()
    {
        await using var proxy = await StartAsync(CausalRouting);
        await RoundTripsAsync(proxy, "causal_users", proxy.ConnectionString(TestRoles.Scram), proxy.ConnectionString(TestRoles.Md5), pooled: false);
    }

    [Fact]
    public async Task Through_Npgsql_s_own_pool_every_read_sees_the_write_before_it()
    {
        await using var proxy = await StartAsync(CausalRouting);
        var pooled = proxy.ConnectionString(fixture.Cluster.Superuser, fixture.Cluster.SuperuserPassword, pooling: true);
        await RoundTripsAsync(proxy, "causal_pooled", pooled, pooled, pooled: true);
    }

    [Fact]
    public async Task Copy_from_on_one_connection_and_copy_to_on_the_next_give_the_same_rows()
    {
        const int rows = 100_000;
        await using var proxy = await StartAsync(CausalRouting);
        var connectionString = proxy.ConnectionString(fixture.Cluster.Superuser, fixture.Cluster.SuperuserPassword);
        await using (var writer = new NpgsqlConnection(connectionString))
        {
            await writer.OpenAsync();
            await ExecuteAsync(writer, "DROP TABLE IF EXISTS causal_copy; CREATE TABLE causal_copy (id int, name text)");
            await using var import = await writer.BeginTextImportAsync("COPY causal_copy (id, name) FROM STDIN");
            for (var i = 1; i <= rows; i++)
            {
                await import.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{i}\tname {i}"));
            }
        }

        var count = 0L;
        var sum = 0L;
        await using (var reader = new NpgsqlConnection(connectionString))
        {
            await reader.OpenAsync();
            using var export = await reader.BeginTextExportAsync("COPY causal_copy (id, name) TO STDOUT");
            while (await export.ReadLineAsync() is { } line)
            {
                count++;
                sum += long.Parse(line.AsSpan(0, line.IndexOf('\t', StringComparison.Ordinal)), CultureInfo.InvariantCulture);
            }
        }

        Assert.Equal(rows, count);
        Assert.Equal((long)rows * (rows + 1) / 2, sum);
        await fixture.Cluster.ExecuteAsync(fixture.PrimaryPort, "DROP TABLE causal_copy", Database);
    }

    [Fact]
    public async Task A_table_created_on_one_connection_is_there_for_the_next()
    {
        await using var proxy = await StartAsync(CausalRouting);
        var connectionString = proxy.ConnectionString(fixture.Cluster.Superuser, fixture.Cluster.SuperuserPassword);
        for (var i = 0; i < 50; i++)
        {
            await using (var writer = new NpgsqlConnection(connectionString))
            {
                await writer.OpenAsync();
                await ExecuteAsync(writer, $"DROP TABLE IF EXISTS causal_ddl; CREATE TABLE causal_ddl (id int)");
            }

            await using var reader = new NpgsqlConnection(connectionString);
            await reader.OpenAsync();
            Assert.Equal(0L, await ScalarAsync<long>(reader, "SELECT count(*) FROM causal_ddl"));
        }

        await fixture.Cluster.ExecuteAsync(fixture.PrimaryPort, "DROP TABLE causal_ddl", Database);
    }

    [Fact]
    public async Task With_replay_paused_reads_go_to_the_primary_never_stale_and_come_back_after_resume()
    {
        await using var proxy = await StartAsync(CausalRouting);
        var health = proxy.Server.Runtime.Health;
        var connectionString = proxy.ConnectionString(fixture.Cluster.Superuser, fixture.Cluster.SuperuserPassword);
        await using var writer = new NpgsqlConnection(connectionString);
        await writer.OpenAsync();
        await using var reader = new NpgsqlConnection(connectionString);
        await reader.OpenAsync();
        await ExecuteAsync(writer, "CREATE TABLE IF NOT EXISTS causal_paused (id int PRIMARY KEY); TRUNCATE causal_paused");
        await WaitForReplicaReadsAsync(reader);

        var fallbacksBefore = await CounterAsync(proxy, "sluice_read_floor_fallbacks_total", Database);
        await fixture.Cluster.ExecuteAsync(fixture.ReplicaPort, "SELECT pg_wal_replay_pause()");
        var writes = 0;
        try
        {
            for (; writes < 20; writes++)
            {
                await ExecuteAsync(writer, $"INSERT INTO causal_paused VALUES ({writes + 1})");
                Assert.Equal(writes + 1L, await ScalarAsync<long>(reader, "SELECT count(*) FROM causal_paused"));
                Assert.False(await RanOnReplicaAsync(reader), "a read went to the paused replica below the floor");
            }
        }
        finally
        {
            await fixture.Cluster.ExecuteAsync(fixture.ReplicaPort, "SELECT pg_wal_replay_resume()");
        }

        Assert.True(await CounterAsync(proxy, "sluice_read_floor_fallbacks_total", Database) > fallbacksBefore, "reads below the floor were not counted as fallbacks");
        await WaitForReplicaReadsAsync(reader);
        Assert.Equal((long)writes, await ScalarAsync<long>(reader, "SELECT count(*) FROM causal_paused"));
        Assert.NotNull(health.ReadFloor(Database));
        await fixture.Cluster.ExecuteAsync(fixture.PrimaryPort, "DROP TABLE causal_paused", Database);
    }

    [Fact]
    public async Task Set_sluice_route_replica_opts_out_of_the_floor()
    {
        await using var proxy = await StartAsync(CausalRouting);
        await using var connection = new NpgsqlConnection(proxy.ConnectionString(fixture.Cluster.Superuser, fixture.Cluster.SuperuserPassword));
        await connection.OpenAsync();
        await ExecuteAsync(connection, "CREATE TABLE IF NOT EXISTS causal_optout (id int)");
        await WaitForReplicaReadsAsync(connection);
        await fixture.Cluster.ExecuteAsync(fixture.ReplicaPort, "SELECT pg_wal_replay_pause()");
        try
        {
            await ExecuteAsync(connection, "INSERT INTO causal_optout VALUES (1)");
            Assert.False(await RanOnReplicaAsync(connection), "below the floor a read must not go to the replica");

            await ExecuteAsync(connection, "SET sluice.route = 'replica'");

            Assert.True(await RanOnReplicaAsync(connection), "SET sluice.route = 'replica' should send reads to the replica whatever the floor");
        }
        finally
        {
            await fixture.Cluster.ExecuteAsync(fixture.ReplicaPort, "SELECT pg_wal_replay_resume()");
        }

        await ExecuteAsync(connection, "RESET sluice.route");
        await fixture.Cluster.ExecuteAsync(fixture.PrimaryPort, "DROP TABLE causal_optout", Database);
    }

    private async Task<RunningProxy> StartAsync(RoutingSection routing)
    {
        var proxy = await fixture.StartProxyAsync(fixture.CreateProxyConfig() with { Routing = routing }, Logging(output));
        var health = proxy.Server.Runtime.Health;
        await WaitUntilAsync(output, health, () => ReadsGoTo(health, Database) == fixture.ReplicaPort, "reads on the replica");
        return proxy;
    }

    /// <summary>Bounded: reads leave the primary once no write is waiting to be replayed (one causal read lands on the replica).</summary>
    private async Task WaitForReplicaReadsAsync(NpgsqlConnection connection)
    {
        var stopwatch = Stopwatch.StartNew();
        while (!await RanOnReplicaAsync(connection))
        {
            Assert.True(stopwatch.Elapsed < WaitLimit, "reads did not go to the replica");
            await Task.Delay(20);
        }
    }

    /// <summary>
    /// Connection A inserts a row and commits; connection B (another one, perhaps another user) reads it at once. Runs up
    /// to <see cref="Rounds"/> rounds within <see cref="RoundsBudget"/>; no read may miss its row.
    /// </summary>
    private async Task RoundTripsAsync(RunningProxy proxy, string table, string writerConnection, string readerConnection, bool pooled)
    {
        await fixture.Cluster.ExecuteAsync(fixture.PrimaryPort, $"DROP TABLE IF EXISTS {table}; CREATE TABLE {table} (id int PRIMARY KEY); GRANT ALL ON {table} TO PUBLIC", Database);
        var replicaBefore = await CounterAsync(proxy, "sluice_reads_total", Database, "replica");
        var primaryBefore = await CounterAsync(proxy, "sluice_reads_total", Database, "primary");
        var stale = 0;
        var rounds = 0;
        var stopwatch = Stopwatch.StartNew();
        NpgsqlConnection? writer = null;
        NpgsqlConnection? reader = null;
        try
        {
            for (; rounds < Rounds && stopwatch.Elapsed < RoundsBudget; rounds++)
            {
                if (pooled || writer is null)
                {
                    // Through Npgsql's pool: each statement on whatever connection the pool hands out.
                    writer = await ReopenAsync(writerConnection, writer);
                    reader = await ReopenAsync(readerConnection, reader);
                }

                await ExecuteAsync(writer, string.Create(CultureInfo.InvariantCulture, $"INSERT INTO {table} VALUES ({rounds})"));
                if (await ScalarAsync<long>(reader!, string.Create(CultureInfo.InvariantCulture, $"SELECT count(*) FROM {table} WHERE id = {rounds}")) != 1)
                {
                    stale++;
                }
            }
        }
        finally
        {
            if (writer is not null)
            {
                await writer.DisposeAsync();
            }

            if (reader is not null)
            {
                await reader.DisposeAsync();
            }
        }

        var toReplica = await CounterAsync(proxy, "sluice_reads_total", Database, "replica") - replicaBefore;
        var toPrimary = await CounterAsync(proxy, "sluice_reads_total", Database, "primary") - primaryBefore;
        output.WriteLine($"{rounds} rounds in {stopwatch.Elapsed.TotalSeconds:0.0} s: {stale} stale; reads on the replica {toReplica}, on the primary {toPrimary}");
        Assert.Equal(0, stale);
        Assert.True(rounds >= 1_000, $"only {rounds} rounds ran within {RoundsBudget.TotalSeconds} s");
        await fixture.Cluster.ExecuteAsync(fixture.PrimaryPort, $"DROP TABLE {table}", Database);
    }

    private static async Task<NpgsqlConnection> ReopenAsync(string connectionString, NpgsqlConnection? previous)
    {
        if (previous is not null)
        {
            await previous.DisposeAsync();
        }

        var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        return connection;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
