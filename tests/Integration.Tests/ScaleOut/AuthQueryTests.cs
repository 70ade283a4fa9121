using System.Diagnostics;
using Npgsql;
using Sluice.Integration.Tests.Fixtures;
using Sluice.Proxy.Configuration;

namespace Sluice.Integration.Tests.ScaleOut;

/// <summary>
/// auth_user / auth_query: users that are not in the config are looked up in PostgreSQL (as the superuser here), log in
/// with what pg_shadow holds (a SCRAM verifier or an md5 hash) and reach PostgreSQL without Sluice ever knowing the
/// password.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class AuthQueryTests(PostgresFixture fixture)
{
    private static readonly TimeSpan CacheTtl = TimeSpan.FromSeconds(1);

    /// <summary>Only the auth_user (the superuser) and the admin are in the file; everyone else comes from PostgreSQL.</summary>
    private ProxyConfig LookupConfig(string? authPassword = null)
    {
        var config = fixture.CreateProxyConfig();
        var superuser = fixture.Cluster.Superuser;
        return config with
        {
            Server = config.Server with { AuthUser = superuser, AuthCacheTtl = CacheTtl },
            Pool = config.Pool with { ServerConnectTimeout = TimeSpan.FromSeconds(5) },
            Users =
            [
                .. config.Users.Where(u => u.Name == superuser || u.Name == PostgresFixture.AdminUser)
                    .Select(u => u.Name == superuser && authPassword is not null ? u with { Password = authPassword } : u),
            ],
        };
    }

    [Fact]
    public async Task A_role_created_after_start_logs_in_with_scram_and_runs_transactions()
    {
        await using var proxy = await fixture.StartProxyAsync(LookupConfig());
        var role = await CreateRoleAsync("aq_scram");

        await using (var connection = new NpgsqlConnection(proxy.ConnectionString(role, "secret-1")))
        {
            await connection.OpenAsync();
            for (var i = 0; i < 3; i++)
            {
                await using var transaction = await connection.BeginTransactionAsync();
                await using var command = new NpgsqlCommand("SELECT current_user", connection, transaction);
                Assert.Equal(role, await command.ExecuteScalarAsync());
                await transaction.CommitAsync();
            }
        }

        var wrong = await Assert.ThrowsAsync<PostgresException>(() => OpenAsync(proxy.ConnectionString(role, "not-it")));
        Assert.Equal("28P01", wrong.SqlState);
    }

    [Fact]
    public async Task An_md5_role_logs_in_with_its_md5_hash()
    {
        // md5_user's password is stored as an md5 hash and pg_hba asks md5 for it: Sluice answers both sides from the hash.
        await using var proxy = await fixture.StartProxyAsync(LookupConfig());
        await using var connection = new NpgsqlConnection(proxy.ConnectionString(TestRoles.Md5.Name, TestRoles.Md5.Password));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT current_user", connection);
        Assert.Equal(TestRoles.Md5.Name, await command.ExecuteScalarAsync());

        var wrong = await Assert.ThrowsAsync<PostgresException>(() => OpenAsync(proxy.ConnectionString(TestRoles.Md5.Name, "not-it")));
        Assert.Equal("28P01", wrong.SqlState);
    }

    [Fact]
    public async Task A_dropped_role_and_a_changed_password_are_refused_after_the_cache_time()
    {
        await using var proxy = await fixture.StartProxyAsync(LookupConfig());
        var dropped = await CreateRoleAsync("aq_drop");
        var changed = await CreateRoleAsync("aq_change");
        await OpenAsync(proxy.ConnectionString(dropped, "secret-1"));
        await OpenAsync(proxy.ConnectionString(changed, "secret-1"));

        await fixture.Cluster.ExecuteOnPrimaryAsync($"DROP ROLE {dropped}; ALTER ROLE {changed} PASSWORD 'secret-2';");
        await Task.Delay(CacheTtl + TimeSpan.FromMilliseconds(500));

        var refused = await Assert.ThrowsAsync<PostgresException>(() => OpenAsync(proxy.ConnectionString(dropped, "secret-1")));
        Assert.Equal("28P01", refused.SqlState);
        var old = await Assert.ThrowsAsync<PostgresException>(() => OpenAsync(proxy.ConnectionString(changed, "secret-1")));
        Assert.Equal("28P01", old.SqlState);

        // The new password logs in to PostgreSQL too: a new verifier makes a new pool with the new keys.
        await using var connection = new NpgsqlConnection(proxy.ConnectionString(changed, "secret-2"));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT current_user", connection);
        Assert.Equal(changed, await command.ExecuteScalarAsync());
    }

    [Fact]
    public async Task A_user_PostgreSQL_does_not_know_is_refused_exactly_like_a_wrong_password()
    {
        await using var proxy = await fixture.StartProxyAsync(LookupConfig());
        var role = await CreateRoleAsync("aq_known");

        var unknown = await Assert.ThrowsAsync<PostgresException>(() => OpenAsync(proxy.ConnectionString("aq_nobody_at_all", "secret-1")));
        var wrong = await Assert.ThrowsAsync<PostgresException>(() => OpenAsync(proxy.ConnectionString(role, "not-it")));

        Assert.Equal("28P01", unknown.SqlState);
        Assert.Equal(wrong.SqlState, unknown.SqlState);
        Assert.Equal(wrong.MessageText.Replace(role, "U", StringComparison.Ordinal), unknown.MessageText.Replace("aq_nobody_at_all", "U", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_failing_look_up_is_a_clear_28000_error_at_once()
    {
        // The auth_user's password is wrong: PostgreSQL refuses the look-up connection.
        await using var proxy = await fixture.StartProxyAsync(LookupConfig(authPassword: "wrong-auth-password"));
        var role = await CreateRoleAsync("aq_fail");

        var stopwatch = Stopwatch.StartNew();
        var failure = await Assert.ThrowsAsync<PostgresException>(() => OpenAsync(proxy.ConnectionString(role, "secret-1")));
        Assert.Equal("28000", failure.SqlState);
        Assert.Contains("auth_query", failure.MessageText, StringComparison.Ordinal);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(10), $"took {stopwatch.Elapsed}");
    }

    [Fact]
    public async Task An_unreachable_server_fails_the_look_up_with_08006_at_once()
    {
        var config = LookupConfig();
        var deadPort = Operations.Tool.FreePort();
        config = config with
        {
            Databases = [config.Databases[0] with { Servers = [new BackendServerConfig { Host = "127.0.0.1", Port = deadPort, Role = ServerRole.Primary }] }],
        };
        await using var proxy = await fixture.StartProxyAsync(config);

        var stopwatch = Stopwatch.StartNew();
        var failure = await Assert.ThrowsAsync<PostgresException>(() => OpenAsync(proxy.ConnectionString("aq_anyone", "secret-1")));
        Assert.Equal("08006", failure.SqlState);
        Assert.Contains("could not look up the user in PostgreSQL (auth_query)", failure.MessageText, StringComparison.Ordinal);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(10), $"took {stopwatch.Elapsed}");
    }

    [Fact]
    public async Task Users_in_the_file_keep_priority_over_PostgreSQL()
    {
        // scram_user is in the file with its own password; PostgreSQL's copy is not consulted for it.
        var config = LookupConfig();
        config = config with { Users = [.. config.Users, new UserConfig { Name = TestRoles.Scram.Name, Password = "file-password", ServerPassword = TestRoles.Scram.Password }] };
        await using var proxy = await fixture.StartProxyAsync(config);

        await OpenAsync(proxy.ConnectionString(TestRoles.Scram.Name, "file-password"));
        var refused = await Assert.ThrowsAsync<PostgresException>(() => OpenAsync(proxy.ConnectionString(TestRoles.Scram.Name, TestRoles.Scram.Password)));
        Assert.Equal("28P01", refused.SqlState);
    }

    [Fact]
    public async Task A_wildcard_database_serves_a_database_created_after_start()
    {
        var config = LookupConfig();
        var primary = config.Databases[0].Servers[0];
        config = config with { Databases = [new DatabaseConfig { Name = DatabaseConfig.Wildcard, Servers = [primary] }] };
        await using var proxy = await fixture.StartProxyAsync(config);
        var role = await CreateRoleAsync("aq_wild");
        await fixture.Cluster.ExecuteOnPrimaryAsync("DROP DATABASE IF EXISTS aq_new_db; CREATE DATABASE aq_new_db;");

        await using var connection = new NpgsqlConnection(proxy.ConnectionString(role, "secret-1", database: "aq_new_db"));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT current_database() || ' ' || current_user", connection);
        Assert.Equal($"aq_new_db {role}", await command.ExecuteScalarAsync());

        var missing = await Assert.ThrowsAsync<PostgresException>(() => OpenAsync(proxy.ConnectionString(fixture.Cluster.Superuser, fixture.Cluster.SuperuserPassword, database: "aq_no_such_db")));
        Assert.Equal("3D000", missing.SqlState);
    }

    private static async Task OpenAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
    }

    /// <summary>A fresh SCRAM role (password "secret-1"), created straight on PostgreSQL while Sluice runs.</summary>
    private async Task<string> CreateRoleAsync(string prefix)
    {
        var name = $"{prefix}_{Guid.NewGuid():N}"[..24];
        await fixture.Cluster.ExecuteOnPrimaryAsync($"CREATE ROLE {name} LOGIN PASSWORD 'secret-1'; GRANT pg_read_all_data TO {name};");
        return name;
    }
}
