using System.Diagnostics;
using System.Globalization;
using System.Net;
using Npgsql;
using Sluice.Integration.Tests.Fixtures;
using Sluice.Integration.Tests.Operations;
using Sluice.Proxy.Configuration;
using Sluice.Proxy.Demo;

namespace Sluice.Integration.Tests;

/// <summary>The admin console (docs/operations.md "Admin console") through psql (simple protocol) and Npgsql (extended protocol).</summary>
[Collection(PostgresCollection.Name)]
public sealed class AdminConsoleTests(PostgresFixture fixture)
{
    private const string AdminDatabase = "sluice";
    private static readonly TimeSpan Bounded = TimeSpan.FromSeconds(15);

    private static readonly string[] PgBouncerPoolColumns =
    [
        "database", "user", "cl_active", "cl_waiting", "cl_active_cancel_req", "cl_waiting_cancel_req", "sv_active", "sv_active_cancel",
        "sv_being_canceled", "sv_idle", "sv_used", "sv_tested", "sv_login", "maxwait", "maxwait_us", "pool_mode",
    ];

    private static readonly string[] PgBouncerStatsColumns =
    [
        "database", "total_xact_count", "total_query_count", "total_received", "total_sent", "total_xact_time", "total_query_time",
        "total_wait_time", "avg_xact_count", "avg_query_count", "avg_recv", "avg_sent", "avg_xact_time", "avg_query_time", "avg_wait_time",
    ];

    public static TheoryData<string, string, bool> ShowCommands()
    {
        var data = new TheoryData<string, string, bool>();
        (string Command, string Columns)[] commands =
        [
            ("SHOW POOLS", string.Join(",", PgBouncerPoolColumns)),
            ("SHOW STATS", string.Join(",", PgBouncerStatsColumns)),
            ("SHOW CLIENTS", "type,user,database,state,addr,port,connect_time,id,link"),
            ("SHOW SERVERS", "type,user,database,server,role,state,addr,port,connect_time,id,link,remote_pid"),
            ("SHOW DATABASES", "name,host,port,database,pool_size,pool_mode,current_connections,paused"),
            ("SHOW USERS", "name,pool_mode,max_client_connections,current_client_connections"),
            ("SHOW CONFIG", "key,value,default,changeable,reload"),
            ("SHOW VERSION", "version"),
            ("SHOW REPLICAS", "database,server,role,state,lag_bytes,lag_seconds"),
        ];
        foreach (var (command, columns) in commands)
        {
            data.Add(command, columns, true);
            data.Add(command, columns, false);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(ShowCommands))]
    public async Task Npgsql_reads_every_show_command(string command, string expectedColumns, bool noTypeLoading)
    {
        await using var proxy = await fixture.StartProxyAsync();
        await using var client = await OpenClientAsync(proxy);
        await ScalarAsync(client, "SELECT 1");
        await using var admin = await OpenAdminAsync(proxy, noTypeLoading);

        var (columns, rows) = await QueryAsync(admin, command);

        AssertColumnsInOrder(expectedColumns.Split(','), columns);
        Assert.NotEmpty(rows);
    }

    [Theory]
    [MemberData(nameof(ShowCommands))]
    public async Task Psql_reads_every_show_command(string command, string expectedColumns, bool twice)
    {
        await using var proxy = await fixture.StartProxyAsync();
        await using var client = await OpenClientAsync(proxy);
        await ScalarAsync(client, "SELECT 1");

        // Several statements in one simple Query are answered one after the other.
        var result = await PsqlAsync(proxy, twice ? $"{command}; {command};" : command);

        Assert.True(result.Succeeded, result.StandardError);
        var lines = result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        AssertColumnsInOrder(expectedColumns.Split(','), lines[0].Split('|'));
        var headers = lines.Count(line => line == lines[0]);
        Assert.Equal(twice ? 2 : 1, headers);
        Assert.True(lines.Length > headers, "no rows");
    }

    [Fact]
    public async Task Show_version_and_settings_answer_like_a_server()
    {
        await using var proxy = await fixture.StartProxyAsync();
        await using var admin = await OpenAdminAsync(proxy, noTypeLoading: false);

        Assert.StartsWith("Sluice ", (string)(await ScalarAsync(admin, "SHOW VERSION"))!, StringComparison.Ordinal);
        Assert.Equal("UTF8", await ScalarAsync(admin, "SHOW client_encoding"));
        Assert.Equal(1, await ScalarAsync(admin, "SELECT 1"));
        Assert.Equal(PostgresFixture.AdminUser, await ScalarAsync(admin, "SELECT current_user"));
        Assert.Contains("Sluice", (string)(await ScalarAsync(admin, "SELECT version()"))!, StringComparison.Ordinal);
        Assert.StartsWith("15.0", admin.ServerVersion, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Show_pools_clients_and_servers_follow_a_client_through_its_transaction()
    {
        // Everything on the primary, so the counts are of one server (Npgsql's type loading would otherwise read from the replica).
        var config = fixture.CreateProxyConfig();
        await using var proxy = await fixture.StartProxyAsync(config with { Routing = config.Routing with { ReadWriteSplit = false } });
        await using var admin = await OpenAdminAsync(proxy);
        await using var client = await OpenClientAsync(proxy);
        await ExecuteAsync(client, "BEGIN");
        var backendPid = Convert.ToInt64(await ScalarAsync(client, "SELECT pg_backend_pid()"), CultureInfo.InvariantCulture);

        var pool = await PoolRowAsync(admin);
        Assert.Equal(1L, pool["cl_active"]);
        Assert.Equal(1L, pool["sv_active"]);
        Assert.Equal(0L, pool["cl_waiting"]);
        Assert.Equal("transaction", pool["pool_mode"]);

        var (_, clients) = await QueryAsync(admin, "SHOW CLIENTS");
        var me = Assert.Single(clients, row => (string)row["user"]! == TestRoles.Scram.Name);
        Assert.Equal("active", me["state"]);
        Assert.Equal(PostgresFixture.Database, me["database"]);
        Assert.Equal("127.0.0.1", me["addr"]);
        var (_, servers) = await QueryAsync(admin, "SHOW SERVERS");
        var lent = Assert.Single(servers, row => (string)row["state"]! == "active");
        Assert.Equal(me["link"], lent["id"]);
        Assert.Equal(me["id"], lent["link"]);
        Assert.Equal(backendPid, lent["remote_pid"]);
        Assert.Equal("primary", lent["role"]);

        await ExecuteAsync(client, "COMMIT");

        // The client has COMMIT's ReadyForQuery a moment before the server is back in the pool (the server is given
        // back once the reply has been handed to the client): look until it is, within a bound.
        pool = await PoolRowAsync(admin);
        for (var look = 0; look < 100 && (long)pool["sv_active"]! != 0; look++)
        {
            await Task.Delay(20);
            pool = await PoolRowAsync(admin);
        }

        Assert.Equal(0L, pool["cl_active"]);
        Assert.Equal(1L, pool["cl_idle"]);
        Assert.Equal(0L, pool["sv_active"]);
        Assert.Equal(1L, pool["sv_idle"]);
        (_, clients) = await QueryAsync(admin, "SHOW CLIENTS");
        Assert.Equal("idle", Assert.Single(clients, row => (string)row["user"]! == TestRoles.Scram.Name)["state"]);
    }

    [Fact]
    public async Task Show_stats_reports_the_database_counters_and_their_columns()
    {
        await using var proxy = await fixture.StartProxyAsync();
        await using var admin = await OpenAdminAsync(proxy);
        var before = await StatsRowAsync(admin);

        // The data path records into these counters; here they are fed directly so the mapping to columns is checked exactly.
        var stats = proxy.Server.Runtime.Stats.For(PostgresFixture.Database);
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < 3; i++)
        {
            stats.AddTransaction(started);
            stats.AddWait(started);
        }

        for (var i = 0; i < 7; i++)
        {
            stats.AddQuery(started);
        }

        stats.AddReceived(100);
        stats.AddSent(2000);

        var after = await StatsRowAsync(admin);
        Assert.Equal(3L, (long)after["total_xact_count"]! - (long)before["total_xact_count"]!);
        Assert.Equal(7L, (long)after["total_query_count"]! - (long)before["total_query_count"]!);
        Assert.Equal(3L, (long)after["total_server_assignment_count"]! - (long)before["total_server_assignment_count"]!);
        Assert.Equal(100L, (long)after["total_received"]! - (long)before["total_received"]!);
        Assert.Equal(2000L, (long)after["total_sent"]! - (long)before["total_sent"]!);
        Assert.True((long)after["total_xact_time"]! >= (long)before["total_xact_time"]!);
        Assert.All(after.Values.OfType<long>(), value => Assert.True(value >= 0));
    }

    [Fact]
    public async Task Show_stats_counts_the_transactions_run_through_the_proxy()
    {
        await using var proxy = await fixture.StartProxyAsync();
        await using var admin = await OpenAdminAsync(proxy);
        await using var client = await OpenClientAsync(proxy);
        await ScalarAsync(client, "SELECT 0");
        var before = await StatsRowAsync(admin);

        const int Transactions = 5;
        for (var i = 0; i < Transactions; i++)
        {
            await ScalarAsync(client, $"SELECT {i}");
        }

        await ExecuteAsync(client, "BEGIN");
        await ScalarAsync(client, "SELECT 1");
        await ScalarAsync(client, "SELECT 2");
        await ExecuteAsync(client, "COMMIT");

        var after = await StatsRowAsync(admin);
        Assert.True((long)after["total_xact_count"]! - (long)before["total_xact_count"]! >= Transactions + 1, $"xacts {before["total_xact_count"]} -> {after["total_xact_count"]}");
        Assert.True((long)after["total_query_count"]! - (long)before["total_query_count"]! >= Transactions + 4, $"queries {before["total_query_count"]} -> {after["total_query_count"]}");
        Assert.True((long)after["total_received"]! > (long)before["total_received"]!);
        Assert.True((long)after["total_sent"]! > (long)before["total_sent"]!);
        Assert.True((long)after["total_xact_time"]! > (long)before["total_xact_time"]!);
    }

    [Fact]
    public async Task Non_admin_user_is_refused_with_28000()
    {
        await using var proxy = await fixture.StartProxyAsync();

        var refused = await Assert.ThrowsAsync<PostgresException>(async () =>
        {
            await using var connection = new NpgsqlConnection(proxy.ConnectionString(TestRoles.Scram, AdminDatabase));
            await connection.OpenAsync();
        });
        Assert.Equal("28000", refused.SqlState);
        Assert.Contains("not allowed on the admin console", refused.MessageText, StringComparison.Ordinal);

        var wrongPassword = await Assert.ThrowsAsync<PostgresException>(async () =>
        {
            await using var connection = new NpgsqlConnection(proxy.ConnectionString(PostgresFixture.AdminUser, "wrong", AdminDatabase));
            await connection.OpenAsync();
        });
        Assert.Equal(PostgresErrorCodes.InvalidPassword, wrongPassword.SqlState);
    }

    [Fact]
    public async Task Pause_holds_new_transactions_until_resume()
    {
        await using var proxy = await fixture.StartProxyAsync();
        using var http = new HttpClient { BaseAddress = proxy.HttpBaseAddress };
        await using var admin = await OpenAdminAsync(proxy);
        await using var client = await OpenClientAsync(proxy);
        await ScalarAsync(client, "SELECT 1");

        await ExecuteAsync(admin, "PAUSE");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.GetAsync(new Uri("ready", UriKind.Relative))).StatusCode);
        Assert.Equal(1L, (await DatabaseRowAsync(admin))["paused"]);
        var held = ScalarAsync(client, "SELECT 42");
        await Task.Delay(500);
        Assert.False(held.IsCompleted, "a new transaction ran while paused");
        await WaitUntilAsync(async () => (long)(await PoolRowAsync(admin))["cl_waiting"]! == 1);
        var (_, clients) = await QueryAsync(admin, "SHOW CLIENTS");
        Assert.Equal("waiting", Assert.Single(clients, row => (string)row["user"]! == TestRoles.Scram.Name)["state"]);

        await ExecuteAsync(admin, "RESUME");

        Assert.Equal(42, await held.WaitAsync(Bounded));
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("ready", UriKind.Relative))).StatusCode);
        Assert.Equal(0L, (await DatabaseRowAsync(admin))["paused"]);
    }

    [Fact]
    public async Task Pause_returns_once_the_running_transaction_has_finished()
    {
        await using var proxy = await fixture.StartProxyAsync();
        await using var admin = await OpenAdminAsync(proxy);
        await using var client = await OpenClientAsync(proxy);
        await ExecuteAsync(client, "BEGIN");
        await ScalarAsync(client, "SELECT 1");

        var pause = ExecuteAsync(admin, $"PAUSE {PostgresFixture.Database}");
        await Task.Delay(500);
        Assert.False(pause.IsCompleted, "PAUSE returned while a transaction was running");

        // The running transaction goes on to its end; PAUSE returns then.
        Assert.Equal(7, await ScalarAsync(client, "SELECT 7"));
        await ExecuteAsync(client, "COMMIT");
        await pause.WaitAsync(Bounded);

        var held = ScalarAsync(client, "SELECT 8");
        await Task.Delay(300);
        Assert.False(held.IsCompleted, "a new transaction ran while paused");
        await using var second = await OpenAdminAsync(proxy);
        await ExecuteAsync(second, $"RESUME {PostgresFixture.Database}");
        Assert.Equal(8, await held.WaitAsync(Bounded));
    }

    [Fact]
    public async Task Reload_applies_a_changed_pool_size()
    {
        var folder = Directory.CreateTempSubdirectory("sluice-admin-");
        try
        {
            var path = Path.Combine(folder.FullName, "proxy.toml");
            await File.WriteAllTextAsync(path, ConfigText(poolSize: 1));
            await using var proxy = await fixture.StartProxyAsync(ConfigLoader.Load(path));
            await using var admin = await OpenAdminAsync(proxy);
            Assert.Equal(1L, (await DatabaseRowAsync(admin))["pool_size"]);
            await using var holder = await OpenClientAsync(proxy);
            await ExecuteAsync(holder, "BEGIN");
            await ScalarAsync(holder, "SELECT 1");

            // With one server and it taken, another client times out waiting (checkout_timeout = 1s).
            await using (var other = await OpenClientAsync(proxy))
            {
                var timedOut = await Assert.ThrowsAsync<PostgresException>(() => ScalarAsync(other, "SELECT 2"));
                Assert.Equal("53300", timedOut.SqlState);
            }

            await File.WriteAllTextAsync(path, ConfigText(poolSize: 2));
            await ExecuteAsync(admin, "RELOAD");

            Assert.Equal(2L, (await DatabaseRowAsync(admin))["pool_size"]);
            await using (var other = await OpenClientAsync(proxy))
            {
                Assert.Equal(2, await ScalarAsync(other, "SELECT 2").WaitAsync(Bounded));
            }

            // A broken file is refused with its errors, and the configuration in force stays.
            await File.WriteAllTextAsync(path, "[pool]\nsize = \"many\"\n");
            var failed = await Assert.ThrowsAsync<PostgresException>(() => ExecuteAsync(admin, "RELOAD"));
            Assert.Equal(PostgresErrorCodes.InvalidParameterValue, failed.SqlState);
            Assert.Contains("proxy.toml:2", failed.MessageText, StringComparison.Ordinal);
            Assert.Equal(2L, (await DatabaseRowAsync(admin))["pool_size"]);
            await ExecuteAsync(holder, "COMMIT");
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Kill_disconnects_the_databases_clients_with_57P01()
    {
        await using var proxy = await fixture.StartProxyAsync();
        await using var admin = await OpenAdminAsync(proxy);
        await using var idle = await OpenClientAsync(proxy);
        await ScalarAsync(idle, "SELECT 1");
        await using var busy = await OpenClientAsync(proxy);
        await ExecuteAsync(busy, "BEGIN");
        await ScalarAsync(busy, "SELECT 1");

        await ExecuteAsync(admin, $"KILL {PostgresFixture.Database}");

        foreach (var client in new[] { idle, busy })
        {
            var killed = await Assert.ThrowsAsync<PostgresException>(() => ScalarAsync(client, "SELECT 1").WaitAsync(Bounded));
            Assert.Equal(PostgresErrorCodes.AdminShutdown, killed.SqlState);
        }

        // The console itself stays, and the database takes new clients at once.
        await WaitUntilAsync(async () => (await QueryAsync(admin, "SHOW CLIENTS")).Rows.Count == 1);
        await using var fresh = await OpenClientAsync(proxy);
        Assert.Equal(3, await ScalarAsync(fresh, "SELECT 3"));
    }

    [Fact]
    public async Task Reconnect_replaces_the_server_connections()
    {
        await using var proxy = await fixture.StartProxyAsync();
        await using var admin = await OpenAdminAsync(proxy);
        await using var client = await OpenClientAsync(proxy);
        var before = await ScalarAsync(client, "SELECT pg_backend_pid()");
        Assert.Equal(before, await ScalarAsync(client, "SELECT pg_backend_pid()"));

        await ExecuteAsync(admin, "RECONNECT");

        Assert.NotEqual(before, await ScalarAsync(client, "SELECT pg_backend_pid()"));
    }

    [Fact]
    public async Task Show_config_and_users_never_print_a_password()
    {
        var config = fixture.CreateProxyConfig();
        config = config with
        {
            Users = [.. config.Users, new UserConfig { Name = "app", Password = "app-secret-1", ServerUser = TestRoles.Plain.Name, ServerPassword = "server-secret-2" }],
        };
        await using var proxy = await fixture.StartProxyAsync(config);
        await using var admin = await OpenAdminAsync(proxy);
        string[] secrets = ["app-secret-1", "server-secret-2", TestRoles.Scram.Password!, TestRoles.Md5.Password!, PostgresFixture.AdminPassword];

        var (_, rows) = await QueryAsync(admin, "SHOW CONFIG");
        var values = rows.ToDictionary(row => (string)row["key"]!, row => row["value"] as string);
        Assert.Equal("****", values["users.app.password"]);
        Assert.Equal("****", values["users.app.server_password"]);
        Assert.Equal(TestRoles.Plain.Name, values["users.app.server_user"]);
        Assert.Equal("transaction", values["pool.mode"]);
        foreach (var (key, value) in values.Where(pair => !pair.Key.StartsWith("server.admin", StringComparison.Ordinal)))
        {
            Assert.DoesNotContain(secrets, secret => value?.Contains(secret, StringComparison.Ordinal) == true);
        }

        var psql = await PsqlAsync(proxy, "SHOW CONFIG; SHOW USERS");
        Assert.True(psql.Succeeded, psql.StandardError);
        Assert.DoesNotContain("secret", psql.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain(TestRoles.Scram.Password!, psql.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_input_gets_an_error_and_the_session_goes_on()
    {
        await using var proxy = await fixture.StartProxyAsync();
        await using var admin = await OpenAdminAsync(proxy, noTypeLoading: false);

        (string Sql, string SqlState)[] cases =
        [
            ("SHOW NONSENSE", "42704"),
            ("FROBNICATE", "42601"),
            ("SHOW POOLS extra", "42601"),
            ("KILL", "42601"),
            ("KILL nosuchdb", "3D000"),
            ("PAUSE sluice", "0A000"),
            ("INSERT INTO t VALUES (1)", "0A000"),
            ("SELECT * FROM some_table", "0A000"),
            ("SELECT 'unterminated", "42601"),
        ];
        foreach (var (sql, sqlState) in cases)
        {
            var error = await Assert.ThrowsAsync<PostgresException>(() => ExecuteAsync(admin, sql));
            Assert.Equal(sqlState, error.SqlState);
        }

        // Statements drivers send on their own are answered, and the session still works.
        await ExecuteAsync(admin, "SET application_name = 'dashboard'");
        await ExecuteAsync(admin, "DISCARD ALL");
        var (catalogColumns, catalogRows) = await QueryAsync(admin, "SELECT t.typname, t.oid AS type_oid FROM pg_catalog.pg_type t WHERE t.typname = 'nothing'");
        Assert.Equal(["typname", "type_oid"], catalogColumns);
        Assert.Empty(catalogRows);
        await using (var prepared = new NpgsqlCommand("SHOW VERSION", admin))
        {
            await prepared.PrepareAsync();
            Assert.StartsWith("Sluice", (string)(await prepared.ExecuteScalarAsync())!, StringComparison.Ordinal);
            Assert.StartsWith("Sluice", (string)(await prepared.ExecuteScalarAsync())!, StringComparison.Ordinal);
        }

        await using (var batch = new NpgsqlBatch(admin) { BatchCommands = { new("SHOW VERSION"), new("SHOW NOPE"), new("SHOW POOLS") } })
        {
            await Assert.ThrowsAsync<PostgresException>(() => batch.ExecuteNonQueryAsync());
        }

        Assert.Equal(1, await ScalarAsync(admin, "SELECT 1"));

        var psql = await PsqlAsync(proxy, "SHOW NONSENSE");
        Assert.False(psql.Succeeded);
        Assert.Contains("unrecognized configuration parameter", psql.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_pinned_client_shows_its_reason_in_show_clients_and_counts_in_sluice_clients_pinned()
    {
        await using var proxy = await fixture.StartProxyAsync(fixture.CreateProxyConfig(PoolMode.Transaction, 2));
        using var http = new HttpClient { BaseAddress = proxy.HttpBaseAddress };
        await using var admin = await OpenAdminAsync(proxy);
        await using var listener = await OpenClientAsync(proxy);
        await using var other = await OpenClientAsync(proxy);
        await ScalarAsync(other, "SELECT 1");
        const string Pinned = "sluice_clients_pinned";
        var series = $"user=\"{TestRoles.Scram.Name}\"";

        var (columns, clients) = await QueryAsync(admin, "SHOW CLIENTS");
        Assert.Equal("pinned", columns[^1]);
        Assert.All(clients, row => Assert.Equal("", row["pinned"]));
        Assert.Equal(0, Scrape.Sum(await ScrapeAsync(http), Pinned, $"database=\"{PostgresFixture.Database}\"", series));

        await ExecuteAsync(listener, "LISTEN admin_pinned_channel");
        var listenerPid = Convert.ToInt64(await ScalarAsync(listener, "SELECT pg_backend_pid()"), CultureInfo.InvariantCulture);

        (_, clients) = await QueryAsync(admin, "SHOW CLIENTS");
        var pinned = Assert.Single(clients, row => (string)row["pinned"]! != "");
        Assert.Equal("Listen", pinned["pinned"]);
        Assert.Equal(TestRoles.Scram.Name, pinned["user"]);
        Assert.Equal("active", pinned["state"]);
        Assert.Equal(listenerPid, pinned["server_pid"]);
        var metrics = await ScrapeAsync(http);
        var sample = Assert.Single(Scrape.Samples(metrics, Pinned, series));
        Assert.Contains($"database=\"{PostgresFixture.Database}\"", sample.Series, StringComparison.Ordinal);
        Assert.Equal(1, sample.Value);

        await listener.CloseAsync();
        await WaitUntilAsync(async () => Scrape.Sum(await ScrapeAsync(http), Pinned, series) == 0);
    }

    [Fact]
    public async Task Shutdown_stops_the_proxy()
    {
        await using var proxy = await fixture.StartProxyAsync();
        await using var admin = await OpenAdminAsync(proxy);
        await using var client = await OpenClientAsync(proxy);
        await ScalarAsync(client, "SELECT 1");

        await ExecuteAsync(admin, "SHUTDOWN");

        await proxy.Server.Stopped.WaitAsync(Bounded);
        var closed = await Assert.ThrowsAnyAsync<Exception>(() => ScalarAsync(client, "SELECT 1"));
        Assert.True(closed is PostgresException { SqlState: PostgresErrorCodes.AdminShutdown } or NpgsqlException, closed.ToString());
    }

    private string ConfigText(int poolSize) => $$"""
        [server]
        listen = ["127.0.0.1:0"]
        http_listen = ""
        admin_users = ["{{PostgresFixture.AdminUser}}"]

        [pool]
        checkout_timeout = "1s"

        [[users]]
        name = "{{PostgresFixture.AdminUser}}"
        password = "{{PostgresFixture.AdminPassword}}"

        [[users]]
        name = "{{TestRoles.Scram.Name}}"
        password = "{{TestRoles.Scram.Password}}"

        [[databases]]
        name = "{{PostgresFixture.Database}}"
        pool_size = {{poolSize}}
        servers = [{ host = "127.0.0.1", port = {{fixture.PrimaryPort}}, role = "primary" }]
        """;

    private static async Task<NpgsqlConnection> OpenAdminAsync(RunningProxy proxy, bool noTypeLoading = true)
    {
        // Npgsql's own pooling is off, so the data source holds nothing once the connection is closed.
        var builder = new NpgsqlDataSourceBuilder(proxy.ConnectionString(PostgresFixture.AdminUser, PostgresFixture.AdminPassword, AdminDatabase));
        builder.ConfigureTypeLoading(typeLoading => typeLoading.EnableTypeLoading(!noTypeLoading));
        var dataSource = builder.Build();
        return await dataSource.OpenConnectionAsync();
    }

    private static async Task<string> ScrapeAsync(HttpClient http)
    {
        using var response = await http.GetAsync(new Uri("metrics", UriKind.Relative));
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadAsStringAsync();
    }

    private static async Task<NpgsqlConnection> OpenClientAsync(RunningProxy proxy)
    {
        var connection = new NpgsqlConnection(proxy.ConnectionString(TestRoles.Scram));
        await connection.OpenAsync();
        return connection;
    }

    private static async Task<object?> ScalarAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<(string[] Columns, List<Dictionary<string, object?>> Rows)> QueryAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var columns = Enumerable.Range(0, reader.FieldCount).Select(reader.GetName).ToArray();
        var rows = new List<Dictionary<string, object?>>();
        while (await reader.ReadAsync())
        {
            rows.Add(columns.Select((name, i) => (name, value: reader.IsDBNull(i) ? null : reader.GetValue(i))).ToDictionary(c => c.name, c => c.value));
        }

        return (columns, rows);
    }

    private static async Task<Dictionary<string, object?>> PoolRowAsync(NpgsqlConnection admin) =>
        Assert.Single((await QueryAsync(admin, "SHOW POOLS")).Rows, row => (string)row["database"]! == PostgresFixture.Database && (string)row["user"]! == TestRoles.Scram.Name);

    private static async Task<Dictionary<string, object?>> StatsRowAsync(NpgsqlConnection admin) =>
        Assert.Single((await QueryAsync(admin, "SHOW STATS")).Rows, row => (string)row["database"]! == PostgresFixture.Database);

    private static async Task<Dictionary<string, object?>> DatabaseRowAsync(NpgsqlConnection admin) =>
        Assert.Single((await QueryAsync(admin, "SHOW DATABASES")).Rows, row => (string)row["name"]! == PostgresFixture.Database);

    private static void AssertColumnsInOrder(IEnumerable<string> expected, IReadOnlyList<string> actual)
    {
        var last = -1;
        foreach (var column in expected)
        {
            var index = actual.ToList().IndexOf(column);
            Assert.True(index > last, $"column {column} missing or out of order in: {string.Join(",", actual)}");
            last = index;
        }
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = Stopwatch.GetTimestamp();
        while (!await condition())
        {
            Assert.True(Stopwatch.GetElapsedTime(deadline) < Bounded, "the condition did not hold in time");
            await Task.Delay(50);
        }
    }

    /// <summary>psql as a person runs it, with headers: the first line of each result is its column names.</summary>
    private Task<ProcessResult> PsqlAsync(RunningProxy proxy, string sql) =>
        ExternalProcess.RunAsync(
            fixture.Cluster.Installation.ToolPath("psql"),
            ["-X", "-A", "-F", "|", "-P", "footer=off", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", proxy.Port.ToString(CultureInfo.InvariantCulture),
             "-U", PostgresFixture.AdminUser, "-d", AdminDatabase, "-c", sql],
            Bounded,
            new Dictionary<string, string?>
            {
                ["PGPASSWORD"] = PostgresFixture.AdminPassword,
                ["PGCONNECT_TIMEOUT"] = "10",
                ["PGSERVICE"] = null,
                ["PGOPTIONS"] = null,
                ["PGPASSFILE"] = "/dev/null",
            });
}
