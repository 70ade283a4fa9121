using Npgsql;
using Sluice.Integration.Tests.Fixtures;
using Sluice.Integration.Tests.Support;
using Sluice.Proxy.Configuration;

namespace Sluice.Integration.Tests;

/// <summary>Session mode: a client keeps its server and its session state for as long as it stays; the next client starts clean.</summary>
[Collection(PostgresCollection.Name)]
public sealed class SessionModeTests(PostgresFixture fixture)
{
    [Fact]
    public async Task Session_state_lasts_for_the_session_and_does_not_leak_to_the_next_client()
    {
        var schema = Db.UniqueName("session_schema");
        await Db.PrimaryExecuteAsync(fixture, $"CREATE SCHEMA {schema}; CREATE TABLE {schema}.only_here (id int); INSERT INTO {schema}.only_here VALUES (42); GRANT USAGE ON SCHEMA {schema} TO PUBLIC");
        await using var proxy = await TestSetup.StartProxyAsync(fixture, PoolMode.Session, poolSize: 1);
        var connectionString = proxy.ConnectionString(TestRoles.Scram);

        int firstPid;
        await using (var first = await Db.OpenAsync(connectionString))
        {
            firstPid = await Db.ScalarAsync<int>(first, "SELECT pg_backend_pid()");
            await Db.ExecuteAsync(first, $"SET search_path = {schema}, public");
            await Db.ExecuteAsync(first, "SET application_name = 'first client'");
            await Db.ExecuteAsync(first, "SET statement_timeout = '123s'");
            await Db.ExecuteAsync(first, "CREATE TEMP TABLE session_scratch (id int)");
            await Db.ExecuteAsync(first, "PREPARE session_plan AS SELECT 7");
            await Db.ExecuteAsync(first, "SELECT pg_advisory_lock(424242)");

            // Later statements of the same session see all of it.
            Assert.Equal(42, await Db.ScalarAsync<int>(first, "SELECT id FROM only_here"));
            Assert.Equal($"{schema}, public", await Db.ScalarAsync<string>(first, "SHOW search_path"));
            Assert.Equal("first client", await Db.ScalarAsync<string>(first, "SHOW application_name"));
            Assert.Equal("123s", await Db.ScalarAsync<string>(first, "SHOW statement_timeout"));
            Assert.Equal(0L, await Db.ScalarAsync<long>(first, "SELECT count(*) FROM session_scratch"));
            Assert.Equal(7, await Db.ScalarAsync<int>(first, "EXECUTE session_plan"));
            Assert.Equal(firstPid, await Db.ScalarAsync<int>(first, "SELECT pg_backend_pid()"));
        }

        // Pool size 1: the next client gets the very same server, reset.
        await using var second = await Db.OpenAsync(connectionString);
        Assert.Equal(firstPid, await Db.ScalarAsync<int>(second, "SELECT pg_backend_pid()"));
        Assert.Equal("\"$user\", public", await Db.ScalarAsync<string>(second, "SHOW search_path"));
        Assert.Equal("", await Db.ScalarAsync<string>(second, "SHOW application_name"));
        Assert.Equal("0", await Db.ScalarAsync<string>(second, "SHOW statement_timeout"));
        var missing = await Assert.ThrowsAsync<PostgresException>(() => Db.ScalarAsync<long>(second, "SELECT count(*) FROM only_here"));
        Assert.Equal(PostgresErrorCodes.UndefinedTable, missing.SqlState);
        Assert.False(await Db.ScalarAsync<bool>(second, "SELECT to_regclass('pg_temp.session_scratch') IS NOT NULL"));
        Assert.Equal(0L, await Db.ScalarAsync<long>(second, "SELECT count(*) FROM pg_prepared_statements WHERE name = 'session_plan'"));
        Assert.Equal(0L, await Db.ScalarAsync<long>(second, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 424242"));
    }

    [Fact]
    public async Task Each_client_sees_its_own_startup_settings_on_the_shared_server()
    {
        await using var proxy = await TestSetup.StartProxyAsync(fixture, PoolMode.Session, poolSize: 1);
        var connectionString = proxy.ConnectionString(TestRoles.Scram);

        int pid;
        await using (var first = await Db.OpenAsync(new NpgsqlConnectionStringBuilder(connectionString) { ApplicationName = "alpha", Timezone = "Asia/Tokyo" }.ConnectionString))
        {
            pid = await Db.ScalarAsync<int>(first, "SELECT pg_backend_pid()");
            Assert.Equal("alpha", await Db.ScalarAsync<string>(first, "SHOW application_name"));
            Assert.Equal("Asia/Tokyo", await Db.ScalarAsync<string>(first, "SHOW TimeZone"));
        }

        await using var second = await Db.OpenAsync(new NpgsqlConnectionStringBuilder(connectionString) { ApplicationName = "beta" }.ConnectionString);
        Assert.Equal(pid, await Db.ScalarAsync<int>(second, "SELECT pg_backend_pid()"));
        Assert.Equal("beta", await Db.ScalarAsync<string>(second, "SHOW application_name"));
        Assert.NotEqual("Asia/Tokyo", await Db.ScalarAsync<string>(second, "SHOW TimeZone"));
    }

    [Fact]
    public async Task A_client_that_leaves_inside_a_transaction_has_it_rolled_back()
    {
        var table = Db.UniqueName("abandoned_tx");
        await Db.PrimaryExecuteAsync(fixture, $"CREATE TABLE {table} (id int)");
        await using var proxy = await TestSetup.StartProxyAsync(fixture, PoolMode.Session, poolSize: 1);
        var connectionString = proxy.ConnectionString(TestRoles.Scram);

        await using (var leaving = await Db.OpenAsync(connectionString))
        {
            await Db.ExecuteAsync(leaving, "BEGIN");
            await Db.ExecuteAsync(leaving, $"INSERT INTO {table} VALUES (1)");
        }

        await using var next = await Db.OpenAsync(connectionString);
        Assert.Equal(0L, await Db.ScalarAsync<long>(next, $"SELECT count(*) FROM {table}"));

        // Were the next client still inside the abandoned transaction, its own insert would stay invisible outside.
        await Db.ExecuteAsync(next, $"INSERT INTO {table} VALUES (2)");
        Assert.Equal("2", await Db.PrimaryScalarAsync<string>(fixture, $"SELECT string_agg(id::text, ',') FROM {table}"));
    }
}
