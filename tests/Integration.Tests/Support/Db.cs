using Npgsql;

namespace Sluice.Integration.Tests.Support;

/// <summary>Small Npgsql helpers for tests: open, run, read one value. Every call is bounded by the connection's timeouts.</summary>
public static class Db
{
    /// <summary>Upper bound for any single wait in a test (a task, a poll loop) that has no tighter bound of its own.</summary>
    public static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(30);

    public static async Task<NpgsqlConnection> OpenAsync(string connectionString)
    {
        var connection = new NpgsqlConnection(connectionString);
        try
        {
            await connection.OpenAsync().WaitAsync(WaitLimit);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    public static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        var value = await command.ExecuteScalarAsync().WaitAsync(WaitLimit);
        return value is T typed ? typed : throw new InvalidOperationException($"'{sql}' returned {value ?? "null"} ({value?.GetType().Name ?? "no type"}), not {typeof(T).Name}");
    }

    public static async Task<int> ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteNonQueryAsync().WaitAsync(WaitLimit);
    }

    /// <summary>Runs <paramref name="sql"/> straight on the primary as the superuser (setup and checks, never through the proxy).</summary>
    public static async Task<T> PrimaryScalarAsync<T>(Fixtures.PostgresFixture fixture, string sql)
    {
        ArgumentNullException.ThrowIfNull(fixture);
        await using var connection = await OpenAsync(fixture.PrimaryConnectionString());
        return await ScalarAsync<T>(connection, sql);
    }

    /// <summary>Runs <paramref name="sql"/> straight on the primary as the superuser.</summary>
    public static async Task PrimaryExecuteAsync(Fixtures.PostgresFixture fixture, string sql)
    {
        ArgumentNullException.ThrowIfNull(fixture);
        await using var connection = await OpenAsync(fixture.PrimaryConnectionString());
        await ExecuteAsync(connection, sql);
    }

    /// <summary>The connection string with application_name set, to find the client's server backend in pg_stat_activity.</summary>
    public static string WithApplicationName(string connectionString, string applicationName) =>
        new NpgsqlConnectionStringBuilder(connectionString) { ApplicationName = applicationName }.ConnectionString;

    /// <summary>Waits until a backend with this application_name runs <paramref name="query"/> on the primary.</summary>
    public static Task WaitUntilRunningAsync(Fixtures.PostgresFixture fixture, string applicationName, string query) =>
        WaitUntilAsync(
            async () => await PrimaryScalarAsync<long>(fixture, $"SELECT count(*) FROM pg_stat_activity WHERE application_name = '{applicationName}' AND state = 'active' AND query = '{query.Replace("'", "''", StringComparison.Ordinal)}'") > 0,
            TimeSpan.FromSeconds(10),
            $"'{query}' to run on the primary for {applicationName}");

    /// <summary>
    /// Awaits a command that was cancelled: Npgsql reports a cancel of an async call as OperationCanceledException with
    /// the server's 57014 inside. Returns the server's error.
    /// </summary>
    public static async Task<PostgresException> AssertCanceledAsync(Task running, TimeSpan within)
    {
        ArgumentNullException.ThrowIfNull(running);
        var error = await Assert.ThrowsAnyAsync<Exception>(() => running.WaitAsync(within));
        var server = error as PostgresException ?? error.InnerException as PostgresException;
        Assert.True(server is not null, $"expected the server's 57014, got {error}");
        Assert.Equal(PostgresErrorCodes.QueryCanceled, server.SqlState);
        return server;
    }

    /// <summary>
    /// Lets commands still running finish (or fail) before their connections are disposed: Npgsql's dispose of a
    /// connection whose command is still in flight hangs, even straight against PostgreSQL. Outcomes are the test's
    /// business elsewhere; here they are only waited for, at most <see cref="WaitLimit"/>.
    /// </summary>
    public static async Task SettleAsync(params Task[] running)
    {
        ArgumentNullException.ThrowIfNull(running);
        await Task.WhenAny(Task.WhenAll(running), Task.Delay(WaitLimit));
    }

    /// <summary>A table (or schema, role) name no other test uses: the prefix plus 8 random hex digits.</summary>
    public static string UniqueName(string prefix) => $"{prefix}_{Guid.NewGuid():N}"[..(prefix.Length + 9)];

    /// <summary>Polls <paramref name="condition"/> every 50 ms until it holds; fails the test after <paramref name="timeout"/>.</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out after {timeout.TotalSeconds:0.#} s waiting for {what}");
            await Task.Delay(50);
        }
    }
}
