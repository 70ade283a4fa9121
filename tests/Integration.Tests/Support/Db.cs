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
