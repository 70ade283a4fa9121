using Npgsql;
using Sluice.Integration.Tests.Fixtures;
using Sluice.Proxy.Configuration;
using Sluice.Proxy.Demo;

namespace Sluice.Integration.Tests.TransactionMode;

/// <summary>
/// Clients that share one server connection (pool size 1) each keep their own session settings, as they would with a
/// server of their own: nothing one sets leaks to the other, and what the driver was told (ParameterStatus) is right.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class SessionStateTests(PostgresFixture fixture)
{
    private const string DefaultSearchPath = "\"$user\", public";

    [Fact]
    public async Task Settings_one_client_sets_are_not_seen_by_another_on_the_same_server()
    {
        await CreateSchemasAsync();
        await using var proxy = await fixture.StartProxyOnThreadPoolAsync(fixture.CreateProxyConfig(PoolMode.Transaction, 1));
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;
        await using var a = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);
        await using var b = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);
        await using var plain = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);
        var serverDefaultTimeZone = plain.Timezone;

        await a.ExecuteAsync("SET search_path TO tx_ss_a", token);
        await a.ExecuteAsync("SET application_name = 'client-a'", token);
        await a.ExecuteAsync("SET TimeZone = 'Asia/Tokyo'", token);
        await a.ExecuteAsync("SET DateStyle = 'SQL, DMY'", token);
        await b.ExecuteAsync("SET search_path TO tx_ss_b, public", token);
        await b.ExecuteAsync("SET application_name = 'client-b'", token);
        await b.ExecuteAsync("SET TimeZone = 'America/New_York'", token);
        await b.ExecuteAsync("SET DateStyle = 'German, DMY'", token);

        var pid = await a.ScalarAsync<int>("SELECT pg_backend_pid()", token);
        for (var round = 0; round < 20; round++)
        {
            Assert.Equal(pid, await b.ScalarAsync<int>("SELECT pg_backend_pid()", token));
            await AssertSessionAsync(a, "tx_ss_a", "client-a", "Asia/Tokyo", "SQL, DMY", "a", token);
            await AssertSessionAsync(b, "tx_ss_b, public", "client-b", "America/New_York", "German, DMY", "b", token);
            Assert.Equal(DefaultSearchPath, await plain.ScalarAsync<string>("SHOW search_path", token));
            Assert.Equal("", await plain.ScalarAsync<string>("SHOW application_name", token));
            Assert.Equal(serverDefaultTimeZone, await plain.ScalarAsync<string>("SHOW TimeZone", token));
            Assert.Equal("ISO, MDY", await plain.ScalarAsync<string>("SHOW DateStyle", token));
            var missing = await Assert.ThrowsAsync<PostgresException>(() => plain.ScalarAsync<string>("SELECT v FROM tx_ss_which", token));
            Assert.Equal(PostgresErrorCodes.UndefinedTable, missing.SqlState);
            Assert.Equal(serverDefaultTimeZone, plain.Timezone);
        }
    }

    [Fact]
    public async Task Startup_parameters_from_the_connection_string_are_each_clients_own()
    {
        await CreateSchemasAsync();
        await using var proxy = await fixture.StartProxyOnThreadPoolAsync(fixture.CreateProxyConfig(PoolMode.Transaction, 1));
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;
        await using var a = await Sql.OpenAsync(new NpgsqlConnectionStringBuilder(proxy.ConnectionString(TestRoles.Scram))
        {
            Timezone = "Europe/Berlin",
            ApplicationName = "startup-a",
            SearchPath = "tx_ss_a",
        }.ConnectionString, token);
        await using var b = await Sql.OpenAsync(new NpgsqlConnectionStringBuilder(proxy.ConnectionString(TestRoles.Scram))
        {
            Timezone = "Pacific/Auckland",
            ApplicationName = "startup-b",
            SearchPath = "tx_ss_b",
        }.ConnectionString, token);

        // What the proxy reported at login already is the client's own.
        Assert.Equal("Europe/Berlin", a.Timezone);
        Assert.Equal("startup-a", a.PostgresParameters["application_name"]);
        Assert.Equal("Pacific/Auckland", b.Timezone);
        Assert.Equal("startup-b", b.PostgresParameters["application_name"]);

        for (var round = 0; round < 20; round++)
        {
            await AssertSessionAsync(a, "tx_ss_a", "startup-a", "Europe/Berlin", "ISO, MDY", "a", token);
            await AssertSessionAsync(b, "tx_ss_b", "startup-b", "Pacific/Auckland", "ISO, MDY", "b", token);
        }

        // A SET on top of a startup parameter, then mixing with the other client.
        await a.ExecuteAsync("SET search_path TO tx_ss_b", token);
        await a.ExecuteAsync("SET TimeZone = 'UTC'", token);
        for (var round = 0; round < 5; round++)
        {
            await AssertSessionAsync(a, "tx_ss_b", "startup-a", "UTC", "ISO, MDY", "b", token);
            await AssertSessionAsync(b, "tx_ss_b", "startup-b", "Pacific/Auckland", "ISO, MDY", "b", token);
        }
    }

    [Fact]
    public async Task Reset_goes_back_to_the_value_the_client_sent_at_startup()
    {
        await CreateSchemasAsync();
        await using var proxy = await fixture.StartProxyOnThreadPoolAsync(fixture.CreateProxyConfig(PoolMode.Transaction, 1));
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;

        // PostgreSQL's RESET restores the session's start value, which includes what the client sent at startup:
        // the same steps straight against PostgreSQL show what the client must see through the proxy.
        var expected = await ResetStepsAsync(fixture.PrimaryConnectionString(role: TestRoles.Scram), fixture.PrimaryConnectionString(role: TestRoles.Scram), token);
        Assert.Equal(["Europe/Berlin", "Europe/Berlin", "tx_ss_a", "Europe/Berlin", "Europe/Berlin", "Europe/Berlin"], expected);
        Assert.Equal(expected, await ResetStepsAsync(proxy.ConnectionString(TestRoles.Scram), proxy.ConnectionString(TestRoles.Scram), token));
    }

    private static async Task<List<string>> ResetStepsAsync(string connectionString, string otherConnectionString, CancellationToken token)
    {
        var seen = new List<string>();
        await using var a = await Sql.OpenAsync(new NpgsqlConnectionStringBuilder(connectionString)
        {
            Timezone = "Europe/Berlin",
            SearchPath = "tx_ss_a",
        }.ConnectionString, token);
        await using var b = await Sql.OpenAsync(otherConnectionString, token);

        await a.ExecuteAsync("SET TimeZone = 'UTC'", token);
        await a.ExecuteAsync("SET search_path TO tx_ss_b", token);
        await b.ExecuteAsync("SELECT 1", token);
        await a.ExecuteAsync("RESET TimeZone", token);
        await a.ExecuteAsync("RESET search_path", token);
        seen.Add(await a.ScalarAsync<string>("SHOW TimeZone", token));
        seen.Add(a.Timezone);
        seen.Add(await a.ScalarAsync<string>("SHOW search_path", token));
        await b.ExecuteAsync("SELECT 1", token);
        seen.Add(await a.ScalarAsync<string>("SHOW TimeZone", token));

        await a.ExecuteAsync("SET TimeZone = 'UTC'", token);
        await a.ExecuteAsync("RESET ALL", token);
        seen.Add(await a.ScalarAsync<string>("SHOW TimeZone", token));
        seen.Add(a.Timezone);
        return seen;
    }

    [Fact]
    public async Task Set_local_lasts_only_for_its_transaction()
    {
        await CreateSchemasAsync();
        await using var proxy = await fixture.StartProxyOnThreadPoolAsync(fixture.CreateProxyConfig(PoolMode.Transaction, 2));
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;
        await using var a = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);
        await using var b = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);
        var timeZone = a.Timezone;

        await using (var transaction = await a.BeginTransactionAsync(token))
        {
            await a.ExecuteAsync("SET LOCAL search_path TO tx_ss_a", token);
            await a.ExecuteAsync("SET LOCAL TimeZone = 'Asia/Tokyo'", token);
            Assert.Equal("a", await a.ScalarAsync<string>("SELECT v FROM tx_ss_which", token));
            await transaction.CommitAsync(token);
        }

        for (var round = 0; round < 5; round++)
        {
            Assert.Equal(DefaultSearchPath, await a.ScalarAsync<string>("SHOW search_path", token));
            Assert.Equal(timeZone, await a.ScalarAsync<string>("SHOW TimeZone", token));
            Assert.Equal(timeZone, a.Timezone);
            await using var held = await b.BeginTransactionAsync(token);
            await b.ExecuteAsync("SELECT 1", token);
            Assert.Equal(DefaultSearchPath, await a.ScalarAsync<string>("SHOW search_path", token));
            await held.CommitAsync(token);
        }
    }

    [Fact]
    public async Task A_set_in_a_rolled_back_transaction_is_undone_on_every_server()
    {
        await CreateSchemasAsync();
        await using var proxy = await fixture.StartProxyOnThreadPoolAsync(fixture.CreateProxyConfig(PoolMode.Transaction, 2));
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;
        await using var a = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);
        await using var b = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);
        var timeZone = a.Timezone;

        await using (var transaction = await a.BeginTransactionAsync(token))
        {
            await a.ExecuteAsync("SET search_path TO tx_ss_a", token);
            await a.ExecuteAsync("SET TimeZone = 'Asia/Tokyo'", token);
            await transaction.RollbackAsync(token);
        }

        // b takes the server a just used (the warmest), so a's next statement runs on the other one.
        var aPid = await a.ScalarAsync<int>("SELECT pg_backend_pid()", token);
        await using var held = await b.BeginTransactionAsync(token);
        Assert.Equal(aPid, await b.ScalarAsync<int>("SELECT pg_backend_pid()", token));
        Assert.NotEqual(aPid, await a.ScalarAsync<int>("SELECT pg_backend_pid()", token));
        Assert.Equal(DefaultSearchPath, await a.ScalarAsync<string>("SHOW search_path", token));
        Assert.Equal(timeZone, await a.ScalarAsync<string>("SHOW TimeZone", token));
        Assert.Equal(timeZone, a.Timezone);
        await held.CommitAsync(token);
    }

    [Fact]
    public async Task Search_path_changed_with_set_config_does_not_leak_to_the_next_client()
    {
        await CreateSchemasAsync();
        await fixture.Cluster.ExecuteAsync(fixture.PrimaryPort,
            "DROP TABLE IF EXISTS public.tx_ss_public; CREATE TABLE public.tx_ss_public (v int); INSERT INTO public.tx_ss_public VALUES (1);",
            PostgresFixture.Database);
        await using var proxy = await fixture.StartProxyOnThreadPoolAsync(fixture.CreateProxyConfig(PoolMode.Transaction, 1));
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;
        await using var dumper = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);
        await using var app = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);

        // What pg_dump sends first.
        await dumper.ExecuteAsync("SELECT pg_catalog.set_config('search_path', '', false)", token);

        Assert.Equal(1L, await app.ScalarAsync<long>("SELECT count(*) FROM tx_ss_public", token));
        Assert.Equal(DefaultSearchPath, await app.ScalarAsync<string>("SHOW search_path", token));
        // set_config stores the empty string as given (SET search_path = '' would show "").
        Assert.Equal("", await dumper.ScalarAsync<string>("SHOW search_path", token));
    }

    [Fact]
    public async Task Savepoints_undo_the_settings_made_after_them_and_keep_the_ones_before()
    {
        await CreateSchemasAsync();
        await using var proxy = await fixture.StartProxyOnThreadPoolAsync(fixture.CreateProxyConfig(PoolMode.Transaction, 2));
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;
        await using var a = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);
        await using var b = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);

        await using (var transaction = await a.BeginTransactionAsync(token))
        {
            await a.ExecuteAsync("SET search_path TO tx_ss_a", token);
            await a.ExecuteAsync("SET statement_timeout = '41s'", token);
            await transaction.SaveAsync("before_b", token);
            await a.ExecuteAsync("SET search_path TO tx_ss_b", token);
            await a.ExecuteAsync("SELECT pg_catalog.set_config('statement_timeout', '42s', false)", token);
            await transaction.RollbackAsync("before_b", token);
            await transaction.SaveAsync("kept", token);
            await a.ExecuteAsync("SET lock_timeout = '43s'", token);
            await transaction.ReleaseAsync("kept", token);
            await transaction.CommitAsync(token);
        }

        await AssertOnOtherServerAsync(a, b, "tx_ss_a", "41s", "43s", token);
    }

    [Fact]
    public async Task A_set_in_a_batch_that_fails_is_undone_with_it()
    {
        await CreateSchemasAsync();
        await using var proxy = await fixture.StartProxyOnThreadPoolAsync(fixture.CreateProxyConfig(PoolMode.Transaction, 2));
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;
        await using var a = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);
        await using var b = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);

        // Npgsql sends the statements as one extended-protocol batch (one implicit transaction): the error undoes the SETs.
        await Assert.ThrowsAsync<PostgresException>(() => a.ExecuteAsync("SET search_path TO tx_ss_b; SET lock_timeout = '44s'; SELECT 1/0", token));
        // A failed transaction block, then rolled back.
        await using (var transaction = await a.BeginTransactionAsync(token))
        {
            await a.ExecuteAsync("SELECT pg_catalog.set_config('search_path', 'tx_ss_b', false)", token);
            await Assert.ThrowsAsync<PostgresException>(() => a.ExecuteAsync("SELECT 1/0", token));
            await transaction.RollbackAsync(token);
        }

        // What did stick, from a batch that succeeded.
        await a.ExecuteAsync("SET statement_timeout = '45s'; SELECT 1", token);
        await AssertOnOtherServerAsync(a, b, DefaultSearchPath, "45s", "0", token);
    }

    [Fact]
    public async Task Set_config_with_a_parameter_keeps_the_client_on_its_server()
    {
        await CreateSchemasAsync();
        await using var proxy = await fixture.StartProxyOnThreadPoolAsync(fixture.CreateProxyConfig(PoolMode.Transaction, 2));
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;
        await using var a = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);
        await using var b = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);

        // The proxy cannot know the value, so it cannot carry it to another server: a keeps its own.
        await using (var command = new NpgsqlCommand("SELECT pg_catalog.set_config('search_path', @path, false)", a))
        {
            command.Parameters.AddWithValue("path", "tx_ss_a");
            await command.ExecuteNonQueryAsync(token);
        }

        var aPid = await a.ScalarAsync<int>("SELECT pg_backend_pid()", token);
        for (var round = 0; round < 5; round++)
        {
            Assert.Equal(DefaultSearchPath, await b.ScalarAsync<string>("SHOW search_path", token));
            Assert.NotEqual(aPid, await b.ScalarAsync<int>("SELECT pg_backend_pid()", token));
            Assert.Equal("a", await a.ScalarAsync<string>("SELECT v FROM tx_ss_which", token));
            Assert.Equal(aPid, await a.ScalarAsync<int>("SELECT pg_backend_pid()", token));
        }
    }

    [Fact]
    public async Task A_search_path_of_quoted_names_follows_the_client()
    {
        await CreateSchemasAsync();
        await fixture.Cluster.ExecuteAsync(fixture.PrimaryPort, """
            CREATE SCHEMA IF NOT EXISTS "Tx Ss Quoted";
            GRANT USAGE ON SCHEMA "Tx Ss Quoted" TO PUBLIC;
            DROP TABLE IF EXISTS "Tx Ss Quoted".tx_ss_which;
            CREATE TABLE "Tx Ss Quoted".tx_ss_which (v text);
            INSERT INTO "Tx Ss Quoted".tx_ss_which VALUES ('quoted');
            GRANT SELECT ON "Tx Ss Quoted".tx_ss_which TO PUBLIC;
            """, PostgresFixture.Database);
        await using var proxy = await fixture.StartProxyOnThreadPoolAsync(fixture.CreateProxyConfig(PoolMode.Transaction, 2));
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;
        await using var a = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);
        await using var b = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);

        await a.ExecuteAsync("SET search_path TO \"Tx Ss Quoted\", 'tx_ss_a'", token);

        await AssertOnOtherServerAsync(a, b, "\"Tx Ss Quoted\", tx_ss_a", "0", "0", token);
        Assert.Equal("quoted", await a.ScalarAsync<string>("SELECT v FROM tx_ss_which", token));
    }

    [Fact]
    public async Task Set_session_authorization_keeps_the_client_on_its_server()
    {
        await using var proxy = await fixture.StartProxyOnThreadPoolAsync(fixture.CreateProxyConfig(PoolMode.Transaction, 2));
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;
        var superuser = fixture.Cluster.Superuser;
        await using var a = await Sql.OpenAsync(proxy.ConnectionString(superuser, fixture.Cluster.SuperuserPassword), token);
        await using var b = await Sql.OpenAsync(proxy.ConnectionString(superuser, fixture.Cluster.SuperuserPassword), token);

        await a.ExecuteAsync($"SET SESSION AUTHORIZATION {TestRoles.Scram.Name}", token);

        for (var round = 0; round < 5; round++)
        {
            Assert.Equal(superuser, await b.ScalarAsync<string>("SELECT session_user", token));
            Assert.Equal(TestRoles.Scram.Name, await a.ScalarAsync<string>("SELECT session_user", token));
        }
    }

    /// <summary>
    /// b holds the server a used last (the warmest) in a transaction, so a's next statements run on the other one: what a
    /// sees there is what the proxy carried over.
    /// </summary>
    private static async Task AssertOnOtherServerAsync(NpgsqlConnection a, NpgsqlConnection b, string searchPath, string statementTimeout, string lockTimeout, CancellationToken token)
    {
        var aPid = await a.ScalarAsync<int>("SELECT pg_backend_pid()", token);
        await using var held = await b.BeginTransactionAsync(token);
        Assert.Equal(aPid, await b.ScalarAsync<int>("SELECT pg_backend_pid()", token));
        Assert.NotEqual(aPid, await a.ScalarAsync<int>("SELECT pg_backend_pid()", token));
        Assert.Equal(searchPath, await a.ScalarAsync<string>("SHOW search_path", token));
        Assert.Equal(statementTimeout, await a.ScalarAsync<string>("SHOW statement_timeout", token));
        Assert.Equal(lockTimeout, await a.ScalarAsync<string>("SHOW lock_timeout", token));
        await held.CommitAsync(token);

        // And b, on the server a used, sees none of it.
        Assert.Equal(DefaultSearchPath, await b.ScalarAsync<string>("SHOW search_path", token));
        Assert.Equal("0", await b.ScalarAsync<string>("SHOW statement_timeout", token));
        Assert.Equal("0", await b.ScalarAsync<string>("SHOW lock_timeout", token));
    }

    [Fact]
    public async Task Pg_dump_through_the_pool_leaves_other_clients_search_path_alone()
    {
        await CreateSchemasAsync();
        await fixture.Cluster.ExecuteAsync(fixture.PrimaryPort,
            "DROP TABLE IF EXISTS public.tx_ss_public; CREATE TABLE public.tx_ss_public (v int); INSERT INTO public.tx_ss_public VALUES (1);",
            PostgresFixture.Database);
        await using var proxy = await fixture.StartProxyOnThreadPoolAsync(fixture.CreateProxyConfig(PoolMode.Transaction, 1));
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;
        var superuser = fixture.Cluster.Superuser;

        var dump = await ExternalProcess.RunAsync(
            fixture.Cluster.Installation.ToolPath("pg_dump"),
            ["-h", "127.0.0.1", "-p", proxy.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-U", superuser, "-d", PostgresFixture.Database, "--schema-only", "-t", "public.tx_ss_public"],
            TimeSpan.FromSeconds(60),
            new Dictionary<string, string?> { ["PGPASSWORD"] = fixture.Cluster.SuperuserPassword, ["PGPASSFILE"] = "/dev/null" },
            cancellationToken: token);
        Assert.True(dump.Succeeded, dump.StandardError);
        Assert.Contains("CREATE TABLE public.tx_ss_public", dump.StandardOutput, StringComparison.Ordinal);

        await using var app = await Sql.OpenAsync(proxy.ConnectionString(superuser, fixture.Cluster.SuperuserPassword), token);
        Assert.Equal(1L, await app.ScalarAsync<long>("SELECT count(*) FROM tx_ss_public", token));
    }

    private static async Task AssertSessionAsync(NpgsqlConnection connection, string searchPath, string applicationName, string timeZone, string dateStyle, string which, CancellationToken token)
    {
        await using (var command = new NpgsqlCommand(
            "SELECT current_setting('search_path'), current_setting('application_name'), current_setting('TimeZone'), current_setting('DateStyle'), (SELECT v FROM tx_ss_which)",
            connection))
        await using (var reader = await command.ExecuteReaderAsync(token))
        {
            Assert.True(await reader.ReadAsync(token));
            Assert.Equal(
                (searchPath, applicationName, timeZone, dateStyle, which),
                (reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4)));
        }

        // What the driver believes, from ParameterStatus.
        Assert.Equal(timeZone, connection.Timezone);
        Assert.Equal(applicationName, connection.PostgresParameters["application_name"]);
        Assert.Equal(dateStyle, connection.PostgresParameters["DateStyle"]);
    }

    private Task<string> CreateSchemasAsync() => fixture.Cluster.ExecuteAsync(fixture.PrimaryPort, """
        CREATE SCHEMA IF NOT EXISTS tx_ss_a;
        CREATE SCHEMA IF NOT EXISTS tx_ss_b;
        GRANT USAGE ON SCHEMA tx_ss_a, tx_ss_b TO PUBLIC;
        DROP TABLE IF EXISTS tx_ss_a.tx_ss_which, tx_ss_b.tx_ss_which;
        CREATE TABLE tx_ss_a.tx_ss_which (v text);
        CREATE TABLE tx_ss_b.tx_ss_which (v text);
        INSERT INTO tx_ss_a.tx_ss_which VALUES ('a');
        INSERT INTO tx_ss_b.tx_ss_which VALUES ('b');
        GRANT SELECT ON tx_ss_a.tx_ss_which, tx_ss_b.tx_ss_which TO PUBLIC;
        """, PostgresFixture.Database);
}
