using System.Diagnostics;
using System.Globalization;
using Npgsql;
using Sluice.Integration.Tests.Fixtures;
using Sluice.Proxy.Configuration;

namespace Sluice.Integration.Tests.TransactionMode;

/// <summary>Small Npgsql helpers for the transaction-mode tests: open, run, read one value, wait for a condition.</summary>
internal static class Sql
{
    /// <summary>Upper bound for one test's client work: a hang fails the test instead of the run.</summary>
    public static readonly TimeSpan TestTimeout = TimeSpan.FromSeconds(90);

    /// <summary>
    /// Starts Sluice off xunit's synchronization context. Started from a test, the proxy's accept loop (and so every
    /// client session) would capture xunit's MaxConcurrencySyncContext and run on its few threads, where a test thread
    /// blocked in a synchronous Npgsql call (NpgsqlCommand.Cancel) stalls the proxy it waits for.
    /// </summary>
    public static Task<RunningProxy> StartProxyOnThreadPoolAsync(this PostgresFixture fixture, ProxyConfig config) =>
        Task.Run(() => fixture.StartProxyAsync(config));

    public static async Task<NpgsqlConnection> OpenAsync(string connectionString, CancellationToken cancellationToken = default)
    {
        var connection = new NpgsqlConnection(connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    public static async Task<T> ScalarAsync<T>(this NpgsqlConnection connection, string sql, CancellationToken cancellationToken = default)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        var value = await command.ExecuteScalarAsync(cancellationToken);
        return value is null or DBNull ? default! : (T)Convert.ChangeType(value, typeof(T), CultureInfo.InvariantCulture);
    }

    public static async Task<int> ExecuteAsync(this NpgsqlConnection connection, string sql, CancellationToken cancellationToken = default)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Polls until the condition holds; false when it did not within the timeout.</summary>
    public static async Task<bool> EventuallyAsync(Func<Task<bool>> condition, TimeSpan timeout, TimeSpan? interval = null)
    {
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            if (await condition())
            {
                return true;
            }

            if (stopwatch.Elapsed > timeout)
            {
                return false;
            }

            await Task.Delay(interval ?? TimeSpan.FromMilliseconds(100));
        }
    }

    /// <summary>A test's own login role (so pg_stat_activity counts only its proxy's servers), with a plain password.</summary>
    public static async Task<TestRole> CreateRoleAsync(PostgresFixture fixture, string name)
    {
        var role = new TestRole(name, name + "_pw", AuthMethod.ScramSha256);
        await fixture.Cluster.ExecuteOnPrimaryAsync($"""
            DO $$ BEGIN
              IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{name}') THEN
                CREATE ROLE {name} LOGIN PASSWORD '{role.Password}';
              END IF;
            END $$;
            GRANT pg_read_all_data, pg_write_all_data, pg_signal_backend TO {name};
            """);
        return role;
    }

    /// <summary>The fixture's config with the role added as a user (plain password, so Sluice can log in with it).</summary>
    public static ProxyConfig WithUser(this ProxyConfig config, TestRole role, Func<UserConfig, UserConfig>? adjust = null)
    {
        var user = new UserConfig { Name = role.Name, Password = role.Password, Auth = role.ServerAuth };
        return config with { Users = config.Users.Add(adjust is null ? user : adjust(user)) };
    }

    /// <summary>Client backends of a role on a server, counted by the superuser straight on that server.</summary>
    public static async Task<long> CountBackendsAsync(PostgresFixture fixture, string role, int? port = null)
    {
        await using var connection = await OpenAsync(fixture.Cluster.ConnectionString(port ?? fixture.PrimaryPort, PostgresFixture.Database));
        await using var command = new NpgsqlCommand(
            // Pool connections only: the health monitor's own connection (sluice-monitor) may log in as the same role.
            "SELECT count(*) FROM pg_stat_activity WHERE usename = $1 AND backend_type = 'client backend' AND application_name <> 'sluice-monitor'", connection);
        command.Parameters.AddWithValue(role);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>Runs SQL as the superuser straight on the primary (sluice_test) and returns the first value.</summary>
    public static async Task<T> OnPrimaryAsync<T>(PostgresFixture fixture, string sql)
    {
        await using var connection = await OpenAsync(fixture.PrimaryConnectionString());
        return await connection.ScalarAsync<T>(sql);
    }

    /// <summary>Whether a backend with this pid exists on the primary.</summary>
    public static async Task<bool> BackendExistsAsync(PostgresFixture fixture, int pid) =>
        await OnPrimaryAsync<long>(fixture, $"SELECT count(*) FROM pg_stat_activity WHERE pid = {pid}") == 1;

    /// <summary>The SQLSTATE of a failure, whether Npgsql reports a server error or a broken connection.</summary>
    public static string? SqlStateOf(Exception exception) => exception switch
    {
        PostgresException postgres => postgres.SqlState,
        NpgsqlException { InnerException: PostgresException inner } => inner.SqlState,
        NpgsqlException npgsql => npgsql.SqlState,
        _ => null,
    };
}
