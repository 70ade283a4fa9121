using Npgsql;
using Sluice.Integration.Tests.Fixtures;
using Sluice.Integration.Tests.Support;
using Sluice.Proxy.Configuration;

namespace Sluice.Integration.Tests;

/// <summary>Transaction mode: clients take turns on one server, and each still sees its own session settings.</summary>
[Collection(PostgresCollection.Name)]
public sealed class TransactionModeTests(PostgresFixture fixture)
{
    [Fact]
    public async Task Two_clients_take_turns_on_one_server_and_each_keeps_its_own_settings()
    {
        var table = Db.UniqueName("turns");
        await Db.PrimaryExecuteAsync(fixture, $"CREATE TABLE {table} (client text, round int)");
        await using var proxy = await TestSetup.StartProxyAsync(fixture, PoolMode.Transaction, poolSize: 1);
        var connectionString = proxy.ConnectionString(TestRoles.Scram);
        await using var alpha = await Db.OpenAsync(Db.WithApplicationName(connectionString, "alpha"));
        await using var beta = await Db.OpenAsync(Db.WithApplicationName(connectionString, "beta"));

        var pids = new HashSet<int>();
        for (var round = 1; round <= 3; round++)
        {
            foreach (var (connection, name) in new[] { (alpha, "alpha"), (beta, "beta") })
            {
                await using var transaction = await connection.BeginTransactionAsync();
                await Db.ExecuteAsync(connection, $"INSERT INTO {table} VALUES ('{name}', {round})");
                Assert.Equal(name, await Db.ScalarAsync<string>(connection, "SHOW application_name"));
                pids.Add(await Db.ScalarAsync<int>(connection, "SELECT pg_backend_pid()"));
                await transaction.CommitAsync();
            }
        }

        Assert.Single(pids);
        Assert.Equal(6L, await Db.PrimaryScalarAsync<long>(fixture, $"SELECT count(*) FROM {table}"));
        Assert.Equal(
            "alpha:1,alpha:2,alpha:3,beta:1,beta:2,beta:3",
            await Db.PrimaryScalarAsync<string>(fixture, $"SELECT string_agg(client || ':' || round, ',' ORDER BY client, round) FROM {table}"));
    }

    [Fact]
    public async Task A_setting_one_client_changes_stays_with_that_client()
    {
        await using var proxy = await TestSetup.StartProxyAsync(fixture, PoolMode.Transaction, poolSize: 1);
        var connectionString = proxy.ConnectionString(TestRoles.Scram);
        await using var alpha = await Db.OpenAsync(Db.WithApplicationName(connectionString, "alpha"));
        await using var beta = await Db.OpenAsync(Db.WithApplicationName(connectionString, "beta"));
        var betaZone = await Db.ScalarAsync<string>(beta, "SHOW TimeZone");

        await Db.ExecuteAsync(alpha, "SET application_name = 'alpha renamed'");
        await Db.ExecuteAsync(alpha, "SET TimeZone = 'Pacific/Auckland'");

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal("beta", await Db.ScalarAsync<string>(beta, "SHOW application_name"));
            Assert.Equal(betaZone, await Db.ScalarAsync<string>(beta, "SHOW TimeZone"));
            Assert.Equal("alpha renamed", await Db.ScalarAsync<string>(alpha, "SHOW application_name"));
            Assert.Equal("Pacific/Auckland", await Db.ScalarAsync<string>(alpha, "SHOW TimeZone"));
        }

        // What the server says in pg_stat_activity follows whoever holds it.
        Assert.Equal("beta", await Db.ScalarAsync<string>(beta, "SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()"));
    }

    [Fact]
    public async Task A_search_path_one_client_sets_does_not_leak_to_another()
    {
        var schema = Db.UniqueName("tx_schema");
        await Db.PrimaryExecuteAsync(fixture, $"CREATE SCHEMA {schema}; GRANT USAGE ON SCHEMA {schema} TO PUBLIC");
        await using var proxy = await TestSetup.StartProxyAsync(fixture, PoolMode.Transaction, poolSize: 1);
        var connectionString = proxy.ConnectionString(TestRoles.Scram);
        await using var alpha = await Db.OpenAsync(connectionString);
        await using var beta = await Db.OpenAsync(connectionString);
        var defaultPath = await Db.ScalarAsync<string>(beta, "SHOW search_path");

        // search_path is not reported by the server (no ParameterStatus): the proxy has to notice the SET itself.
        await Db.ExecuteAsync(alpha, $"SET search_path = {schema}, public");

        Assert.Equal(defaultPath, await Db.ScalarAsync<string>(beta, "SHOW search_path"));
        Assert.Equal($"{schema}, public", await Db.ScalarAsync<string>(alpha, "SHOW search_path"));
        Assert.Equal(defaultPath, await Db.ScalarAsync<string>(beta, "SHOW search_path"));
    }

    [Fact]
    public async Task A_client_waits_while_another_holds_the_only_server_in_a_transaction()
    {
        await using var proxy = await TestSetup.StartProxyAsync(fixture, PoolMode.Transaction, poolSize: 1);
        var connectionString = proxy.ConnectionString(TestRoles.Scram);
        await using var holder = await Db.OpenAsync(connectionString);
        await using var waiter = await Db.OpenAsync(connectionString);

        var transaction = await holder.BeginTransactionAsync();
        var holderPid = await Db.ScalarAsync<int>(holder, "SELECT pg_backend_pid()");
        var waiting = Db.ScalarAsync<int>(waiter, "SELECT pg_backend_pid()");
        try
        {
            await Task.Delay(TimeSpan.FromMilliseconds(500));
            Assert.False(waiting.IsCompleted, "the second client ran while the only server was inside the first client's transaction");
            await transaction.CommitAsync();
            Assert.Equal(holderPid, await waiting.WaitAsync(TimeSpan.FromSeconds(10)));
        }
        finally
        {
            // A waiter left behind (the assertion failed) gives up after checkout_timeout.
            await Db.SettleAsync(waiting);
            await transaction.DisposeAsync();
        }

        Assert.Equal(holderPid, await Db.ScalarAsync<int>(holder, "SELECT pg_backend_pid()"));
    }

    [Fact]
    public async Task Npgsql_with_its_own_pool_on_top_keeps_every_clients_settings()
    {
        await using var proxy = await TestSetup.StartProxyAsync(fixture, PoolMode.Transaction, poolSize: 2);

        // Npgsql's pool resets a connection it hands out again (DISCARD ALL), across the proxy's shared servers.
        async Task ClientAsync(int client)
        {
            var connectionString = Db.WithApplicationName(proxy.ConnectionString(TestRoles.Scram, pooling: true), $"pooled_{client}");
            for (var i = 0; i < 10; i++)
            {
                await using var connection = await Db.OpenAsync(connectionString);
                Assert.Equal($"pooled_{client}", await Db.ScalarAsync<string>(connection, "SHOW application_name"));
                await using var command = new NpgsqlCommand("SELECT $1::int * 2", connection) { Parameters = { new() { Value = i } } };
                Assert.Equal(i * 2, await command.ExecuteScalarAsync());
            }
        }

        try
        {
            await Task.WhenAll(Enumerable.Range(0, 6).Select(client => Task.Run(() => ClientAsync(client)))).WaitAsync(TimeSpan.FromSeconds(60));
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
        }
    }

    [Fact]
    public async Task Many_clients_share_a_small_pool()
    {
        var table = Db.UniqueName("shared_pool");
        await Db.PrimaryExecuteAsync(fixture, $"CREATE TABLE {table} (client int, n int)");
        await using var proxy = await TestSetup.StartProxyAsync(fixture, PoolMode.Transaction, poolSize: 2);
        var connectionString = proxy.ConnectionString(TestRoles.Scram);

        async Task ClientAsync(int client)
        {
            await using var connection = await Db.OpenAsync(connectionString);
            for (var n = 0; n < 20; n++)
            {
                await using var transaction = await connection.BeginTransactionAsync();
                await using var insert = new NpgsqlCommand($"INSERT INTO {table} VALUES ($1, $2)", connection) { Parameters = { new() { Value = client }, new() { Value = n } } };
                await insert.ExecuteNonQueryAsync();
                await transaction.CommitAsync();
            }
        }

        await Task.WhenAll(Enumerable.Range(0, 10).Select(client => Task.Run(() => ClientAsync(client)))).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(200L, await Db.PrimaryScalarAsync<long>(fixture, $"SELECT count(*) FROM {table}"));
        Assert.Equal(10L, await Db.PrimaryScalarAsync<long>(fixture, $"SELECT count(DISTINCT client) FROM {table}"));
    }
}
