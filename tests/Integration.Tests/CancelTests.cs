using System.Data;
using System.Diagnostics;
using Npgsql;
using Sluice.Integration.Tests.Fixtures;
using Sluice.Integration.Tests.Support;
using Sluice.Proxy.Configuration;

namespace Sluice.Integration.Tests;

/// <summary>A client's cancel reaches the server running its query through the proxy, and nobody else's.</summary>
[Collection(PostgresCollection.Name)]
public sealed class CancelTests(PostgresFixture fixture)
{
    private static readonly TimeSpan CancelBound = TimeSpan.FromSeconds(10);

    [Theory]
    [InlineData(PoolMode.Session)]
    [InlineData(PoolMode.Transaction)]
    public async Task Npgsql_cancel_stops_a_long_query_and_the_connection_goes_on(PoolMode mode)
    {
        var application = Db.UniqueName("cancel");
        await using var proxy = await TestSetup.StartProxyAsync(fixture, mode);
        await using var connection = await Db.OpenAsync(Db.WithApplicationName(proxy.ConnectionString(TestRoles.Scram), application));
        await using var command = new NpgsqlCommand("SELECT pg_sleep(30)", connection);

        var running = command.ExecuteNonQueryAsync();
        try
        {
            await Db.WaitUntilRunningAsync(fixture, application, "SELECT pg_sleep(30)");
            var cancelledAt = Stopwatch.StartNew();
            command.Cancel();

            await Db.AssertCanceledAsync(running, CancelBound);
            Assert.True(cancelledAt.Elapsed < CancelBound, $"the cancel took {cancelledAt.Elapsed.TotalSeconds:0.0} s");
        }
        finally
        {
            await Db.SettleAsync(running);
        }

        Assert.Equal(ConnectionState.Open, connection.State);
        Assert.Equal(1, await Db.ScalarAsync<int>(connection, "SELECT 1"));
    }

    [Theory]
    [InlineData(PoolMode.Session)]
    [InlineData(PoolMode.Transaction)]
    public async Task Cancel_inside_a_transaction_aborts_it_and_rollback_recovers(PoolMode mode)
    {
        var application = Db.UniqueName("cancel_tx");
        var table = Db.UniqueName("cancel_tx");
        await Db.PrimaryExecuteAsync(fixture, $"CREATE TABLE {table} (id int)");
        await using var proxy = await TestSetup.StartProxyAsync(fixture, mode);
        await using var connection = await Db.OpenAsync(Db.WithApplicationName(proxy.ConnectionString(TestRoles.Scram), application));

        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await Db.ExecuteAsync(connection, $"INSERT INTO {table} VALUES (1)");
            await using var command = new NpgsqlCommand("SELECT pg_sleep(30)", connection);
            var running = command.ExecuteNonQueryAsync();
            try
            {
                await Db.WaitUntilRunningAsync(fixture, application, "SELECT pg_sleep(30)");
                command.Cancel();
                await Db.AssertCanceledAsync(running, CancelBound);
            }
            finally
            {
                await Db.SettleAsync(running);
            }

            await transaction.RollbackAsync();
        }

        Assert.Equal(0L, await Db.ScalarAsync<long>(connection, $"SELECT count(*) FROM {table}"));
    }

    [Fact]
    public async Task A_cancel_stops_only_the_query_of_the_client_that_sent_it()
    {
        var victim = Db.UniqueName("cancel_victim");
        var bystander = Db.UniqueName("cancel_bystander");
        await using var proxy = await TestSetup.StartProxyAsync(fixture, PoolMode.Transaction);
        await using var victimConnection = await Db.OpenAsync(Db.WithApplicationName(proxy.ConnectionString(TestRoles.Scram), victim));
        await using var bystanderConnection = await Db.OpenAsync(Db.WithApplicationName(proxy.ConnectionString(TestRoles.Scram), bystander));
        await using var victimCommand = new NpgsqlCommand("SELECT pg_sleep(30)", victimConnection);
        await using var bystanderCommand = new NpgsqlCommand("SELECT 'still here' FROM pg_sleep(3)", bystanderConnection);

        var bystanderRunning = bystanderCommand.ExecuteScalarAsync();
        var victimRunning = victimCommand.ExecuteNonQueryAsync();
        try
        {
            await Db.WaitUntilRunningAsync(fixture, bystander, "SELECT 'still here' FROM pg_sleep(3)");
            await Db.WaitUntilRunningAsync(fixture, victim, "SELECT pg_sleep(30)");
            victimCommand.Cancel();

            await Db.AssertCanceledAsync(victimRunning, CancelBound);
            Assert.Equal("still here", await bystanderRunning.WaitAsync(CancelBound));
        }
        finally
        {
            await Db.SettleAsync(victimRunning, bystanderRunning);
        }
    }

    [Fact]
    public async Task Psql_interrupted_with_ctrl_c_cancels_its_query()
    {
        var application = Db.UniqueName("psql_cancel");
        await using var proxy = await TestSetup.StartProxyAsync(fixture, PoolMode.Transaction);
        using var psql = BackgroundPsql.Start(fixture, proxy.Port, TestRoles.Scram, "SELECT pg_sleep(30)", application);

        await Db.WaitUntilRunningAsync(fixture, application, "SELECT pg_sleep(30)");
        var stopwatch = Stopwatch.StartNew();
        await psql.InterruptAsync();
        await psql.WaitForExitAsync(CancelBound);

        Assert.True(stopwatch.Elapsed < CancelBound);
        Assert.Equal(1, psql.ExitCode);
        Assert.Contains("canceling statement due to user request", await psql.StandardError, StringComparison.Ordinal);
        Assert.Equal("", (await psql.StandardOutput).Trim());
    }
}
