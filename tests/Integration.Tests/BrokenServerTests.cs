using System.Data;
using Npgsql;
using Sluice.Integration.Tests.Fixtures;
using Sluice.Integration.Tests.Support;
using Sluice.Proxy.Configuration;

namespace Sluice.Integration.Tests;

/// <summary>
/// A server connection that dies (pg_terminate_backend from a superuser) is never lent again: its client is told with an
/// error, not a silent close, and the next client gets a fresh server.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class BrokenServerTests(PostgresFixture fixture)
{
    [Fact]
    public async Task Session_whose_server_is_terminated_gets_an_error_and_the_next_client_a_new_server()
    {
        var application = Db.UniqueName("doomed");
        await using var proxy = await TestSetup.StartProxyAsync(fixture, PoolMode.Session, poolSize: 1);
        var connectionString = proxy.ConnectionString(TestRoles.Scram);
        await using var victim = await Db.OpenAsync(Db.WithApplicationName(connectionString, application));
        var deadPid = await Db.ScalarAsync<int>(victim, "SELECT pg_backend_pid()");

        await TerminateAsync(application, deadPid);

        var error = await Assert.ThrowsAnyAsync<NpgsqlException>(() => Db.ScalarAsync<int>(victim, "SELECT 1"));
        AssertConnectionLost(error);
        Assert.NotEqual(ConnectionState.Open, victim.State);

        // Pool size 1: this only works if the dead server left the pool.
        await using var next = await Db.OpenAsync(connectionString);
        var pid = await Db.ScalarAsync<int>(next, "SELECT pg_backend_pid()");
        Assert.NotEqual(deadPid, pid);
        Assert.Equal(1, await Db.ScalarAsync<int>(next, "SELECT 1"));
    }

    [Fact]
    public async Task Transaction_whose_server_is_terminated_is_lost_but_its_client_stays_and_the_next_transaction_gets_a_new_server()
    {
        var application = Db.UniqueName("doomed_tx");
        var table = Db.UniqueName("doomed_tx");
        await Db.PrimaryExecuteAsync(fixture, $"CREATE TABLE {table} (id int)");
        await using var proxy = await TestSetup.StartProxyAsync(fixture, PoolMode.Transaction, poolSize: 1);
        var connectionString = proxy.ConnectionString(TestRoles.Scram);
        await using var victim = await Db.OpenAsync(Db.WithApplicationName(connectionString, application));
        var transaction = await victim.BeginTransactionAsync();
        await Db.ExecuteAsync(victim, $"INSERT INTO {table} VALUES (1)");
        var deadPid = await Db.ScalarAsync<int>(victim, "SELECT pg_backend_pid()");

        await TerminateAsync(application, deadPid);

        // Transaction mode: the session lives in the proxy. The block is lost, as if PostgreSQL had aborted it: an
        // ERROR with the server's words, then 25P02 until ROLLBACK, and the connection stays.
        var error = await Assert.ThrowsAsync<PostgresException>(() => Db.ExecuteAsync(victim, $"INSERT INTO {table} VALUES (2)"));
        Assert.Equal(PostgresErrorCodes.ConnectionFailure, error.SqlState);
        Assert.Equal("ERROR", error.InvariantSeverity);
        Assert.Contains("terminating connection due to administrator command", error.MessageText, StringComparison.Ordinal);
        var aborted = await Assert.ThrowsAsync<PostgresException>(() => Db.ExecuteAsync(victim, $"INSERT INTO {table} VALUES (3)"));
        Assert.Equal(PostgresErrorCodes.InFailedSqlTransaction, aborted.SqlState);
        Assert.Equal(ConnectionState.Open, victim.State);
        await transaction.RollbackAsync();
        await transaction.DisposeAsync();

        Assert.NotEqual(deadPid, await Db.ScalarAsync<int>(victim, "SELECT pg_backend_pid()"));
        Assert.Equal(0L, await Db.ScalarAsync<long>(victim, $"SELECT count(*) FROM {table}"));
        await using var next = await Db.OpenAsync(connectionString);
        Assert.Equal(0L, await Db.ScalarAsync<long>(next, $"SELECT count(*) FROM {table}"));
    }

    [Fact]
    public async Task An_idle_pooled_server_that_was_terminated_is_not_lent_again()
    {
        var application = Db.UniqueName("idle_doomed");
        await using var proxy = await TestSetup.StartProxyAsync(fixture, PoolMode.Transaction, poolSize: 1);
        await using var client = await Db.OpenAsync(Db.WithApplicationName(proxy.ConnectionString(TestRoles.Scram), application));
        var deadPid = await Db.ScalarAsync<int>(client, "SELECT pg_backend_pid()");

        // Between transactions the server sits in the pool; it dies there.
        await TerminateAsync(application, deadPid);

        // The client did nothing wrong and its next transaction runs on a fresh server.
        var pid = await Db.ScalarAsync<int>(client, "SELECT pg_backend_pid()");
        Assert.NotEqual(deadPid, pid);
        Assert.Equal(1, await Db.ScalarAsync<int>(client, "SELECT 1"));
    }

    /// <summary>Kills the backend from a direct superuser connection and waits until it is gone.</summary>
    private async Task TerminateAsync(string application, int pid)
    {
        Assert.True(await Db.PrimaryScalarAsync<bool>(fixture, $"SELECT pg_terminate_backend({pid}) FROM pg_stat_activity WHERE pid = {pid} AND application_name = '{application}'"));
        await Db.WaitUntilAsync(
            async () => await Db.PrimaryScalarAsync<long>(fixture, $"SELECT count(*) FROM pg_stat_activity WHERE pid = {pid}") == 0,
            TimeSpan.FromSeconds(10),
            $"backend {pid} to exit");

        // The backend's goodbye (FATAL 57P01) and the close travel to the proxy; give them a moment to arrive.
        await Task.Delay(200);
    }

    /// <summary>
    /// The client hears that its server is gone: PostgreSQL's own 57P01 (forwarded) or the proxy's 08006, and
    /// Npgsql considers the connection broken, not just the statement failed.
    /// </summary>
    private static void AssertConnectionLost(NpgsqlException error)
    {
        var server = error as PostgresException ?? error.InnerException as PostgresException;
        Assert.True(server is not null, $"the client was not told why its connection ended: {error}");
        Assert.Contains(server.SqlState, new[] { PostgresErrorCodes.ConnectionFailure, PostgresErrorCodes.AdminShutdown });
        Assert.Equal("FATAL", server.InvariantSeverity);
    }
}
