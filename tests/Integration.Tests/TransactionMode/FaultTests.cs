using System.Data;
using System.Diagnostics;
using System.Text;
using Npgsql;
using Sluice.Integration.Tests.Fixtures;
using Sluice.Proxy.Configuration;

namespace Sluice.Integration.Tests.TransactionMode;

/// <summary>Servers dying, clients vanishing, cancels after a change of server: nobody hangs, nothing leaks.</summary>
[Collection(PostgresCollection.Name)]
public sealed class FaultTests(PostgresFixture fixture)
{
    private static readonly TimeSpan Promptly = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task A_server_terminated_mid_transaction_fails_its_transaction_promptly_and_spares_the_others()
    {
        var role = await Sql.CreateRoleAsync(fixture, "tx_fault_terminate");
        await CreateTableAsync("tx_fault_terminated", "v text");
        await using var proxy = await fixture.StartProxyOnThreadPoolAsync(fixture.CreateProxyConfig(PoolMode.Transaction, 2).WithUser(role));
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;
        await using var victim = await Sql.OpenAsync(proxy.ConnectionString(role), token);
        await using var bystander = await Sql.OpenAsync(proxy.ConnectionString(role), token);

        await victim.ExecuteAsync("BEGIN", token);
        await victim.ExecuteAsync("INSERT INTO tx_fault_terminated VALUES ('victim')", token);
        var pid = await victim.ScalarAsync<int>("SELECT pg_backend_pid()", token);

        using var stopBystander = new CancellationTokenSource();
        var bystanderWork = Task.Run(async () =>
        {
            var done = 0;
            while (!stopBystander.IsCancellationRequested)
            {
                await using var transaction = await bystander.BeginTransactionAsync(token);
                Assert.NotEqual(pid, await bystander.ScalarAsync<int>("SELECT pg_backend_pid()", token));
                await transaction.CommitAsync(token);
                done++;
            }

            return done;
        }, token);

        Assert.True(await Sql.OnPrimaryAsync<bool>(fixture, $"SELECT pg_terminate_backend({pid})"));
        Assert.True(await Sql.EventuallyAsync(async () => !await Sql.BackendExistsAsync(fixture, pid), TimeSpan.FromSeconds(10)));

        var stopwatch = Stopwatch.StartNew();
        var error = await Assert.ThrowsAnyAsync<NpgsqlException>(() => victim.ExecuteAsync("SELECT 1", token));
        Assert.True(stopwatch.Elapsed < Promptly, $"the client waited {stopwatch.Elapsed} for its error");
        // The block is lost with its server (08006, the server's 57P01 text kept); the client's connection is not.
        Assert.Equal(PostgresErrorCodes.ConnectionFailure, Sql.SqlStateOf(error));
        Assert.Equal(ConnectionState.Open, victim.State);
        await victim.ExecuteAsync("ROLLBACK", token);
        Assert.Equal(1, await victim.ScalarAsync<int>("SELECT 1", token));

        await Task.Delay(500, token);
        await stopBystander.CancelAsync();
        Assert.True(await bystanderWork > 0);
        Assert.Equal(0L, await Sql.OnPrimaryAsync<long>(fixture, "SELECT count(*) FROM tx_fault_terminated"));
        Assert.Equal(1, await bystander.ScalarAsync<int>("SELECT 1", token));
    }

    [Fact]
    public async Task A_server_terminated_while_running_a_query_fails_that_query_promptly()
    {
        var role = await Sql.CreateRoleAsync(fixture, "tx_fault_terminate_busy");
        await using var proxy = await fixture.StartProxyOnThreadPoolAsync(fixture.CreateProxyConfig(PoolMode.Transaction, 2).WithUser(role));
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;
        await using var victim = await Sql.OpenAsync(proxy.ConnectionString(role), token);

        var sleep = victim.ExecuteAsync("SELECT pg_sleep(60)", token);
        var pid = 0;
        Assert.True(await Sql.EventuallyAsync(async () =>
        {
            pid = await Sql.OnPrimaryAsync<int>(fixture, $"SELECT coalesce(max(pid), 0) FROM pg_stat_activity WHERE usename = '{role.Name}' AND query LIKE 'SELECT pg_sleep(60)%' AND state = 'active'");
            return pid != 0;
        }, TimeSpan.FromSeconds(10)));

        var stopwatch = Stopwatch.StartNew();
        Assert.True(await Sql.OnPrimaryAsync<bool>(fixture, $"SELECT pg_terminate_backend({pid})"));
        var error = await Assert.ThrowsAnyAsync<NpgsqlException>(() => sleep);
        Assert.True(stopwatch.Elapsed < Promptly, $"the client waited {stopwatch.Elapsed} for its error");
        Assert.Contains(Sql.SqlStateOf(error), new[] { PostgresErrorCodes.ConnectionFailure, PostgresErrorCodes.AdminShutdown });

        await using var next = await Sql.OpenAsync(proxy.ConnectionString(role), token);
        Assert.NotEqual(pid, await next.ScalarAsync<int>("SELECT pg_backend_pid()", token));
    }

    [Fact]
    public async Task A_server_killed_while_idle_in_the_pool_is_never_handed_out()
    {
        var role = await Sql.CreateRoleAsync(fixture, "tx_fault_idle_kill");
        await using var proxy = await fixture.StartProxyOnThreadPoolAsync(fixture.CreateProxyConfig(PoolMode.Transaction, 1).WithUser(role));
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;
        await using var connection = await Sql.OpenAsync(proxy.ConnectionString(role), token);

        var killed = new HashSet<int>();
        for (var round = 0; round < 3; round++)
        {
            var pid = await connection.ScalarAsync<int>("SELECT pg_backend_pid()", token);
            Assert.DoesNotContain(pid, killed);
            Assert.True(await Sql.OnPrimaryAsync<bool>(fixture, $"SELECT pg_terminate_backend({pid})"));
            Assert.True(await Sql.EventuallyAsync(async () => !await Sql.BackendExistsAsync(fixture, pid), TimeSpan.FromSeconds(10)));
            killed.Add(pid);
        }

        Assert.Equal(1, await connection.ScalarAsync<int>("SELECT 1", token));
        await using var other = await Sql.OpenAsync(proxy.ConnectionString(role), token);
        Assert.DoesNotContain(await other.ScalarAsync<int>("SELECT pg_backend_pid()", token), killed);
    }

    [Fact]
    public async Task A_client_that_vanishes_mid_transaction_has_its_work_rolled_back_and_the_server_is_reused_clean()
    {
        await CreateTableAsync("tx_fault_vanished", "v text");
        var trust = TestRoles.Trust;
        await using var proxy = await fixture.StartProxyOnThreadPoolAsync(fixture.CreateProxyConfig(PoolMode.Transaction, 1));
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;

        var raw = await RawClient.ConnectAsync(proxy.Port, trust.Name, null, PostgresFixture.Database, token);
        raw.Query("BEGIN; INSERT INTO tx_fault_vanished VALUES ('raw')");
        Assert.Equal('T', (char)(await raw.RoundTripAsync(token))[^1].Payload[0]);
        raw.Query("SELECT pg_backend_pid()");
        var pid = int.Parse(Encoding.UTF8.GetString((await raw.RoundTripAsync(token)).Single(m => m.Code == 'D').Payload[6..]), System.Globalization.CultureInfo.InvariantCulture);
        raw.Abort();

        // The next client gets the same server (pool size 1), outside any transaction: it would see the row otherwise.
        await using var next = await Sql.OpenAsync(proxy.ConnectionString(trust), token);
        Assert.Equal(pid, await next.ScalarAsync<int>("SELECT pg_backend_pid()", token));
        Assert.Equal(0L, await next.ScalarAsync<long>("SELECT count(*) FROM tx_fault_vanished", token));
        Assert.Equal("idle", await Sql.OnPrimaryAsync<string>(fixture, $"SELECT state FROM pg_stat_activity WHERE pid = {pid}"));

        // A driver that closes mid-transaction (Terminate, no COMMIT) is the same.
        await using (var closing = await Sql.OpenAsync(proxy.ConnectionString(trust), token))
        {
            await closing.ExecuteAsync("BEGIN", token);
            await closing.ExecuteAsync("INSERT INTO tx_fault_vanished VALUES ('closed')", token);
        }

        Assert.Equal(pid, await next.ScalarAsync<int>("SELECT pg_backend_pid()", token));
        Assert.Equal(0L, await next.ScalarAsync<long>("SELECT count(*) FROM tx_fault_vanished", token));
        Assert.Equal(0L, await Sql.OnPrimaryAsync<long>(fixture, "SELECT count(*) FROM tx_fault_vanished"));
    }

    [Fact]
    public async Task A_client_that_vanishes_during_a_query_gets_it_cancelled_and_the_server_back_in_the_pool()
    {
        var trust = TestRoles.Trust;
        await using var proxy = await fixture.StartProxyOnThreadPoolAsync(fixture.CreateProxyConfig(PoolMode.Transaction, 1));
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;

        var raw = await RawClient.ConnectAsync(proxy.Port, trust.Name, null, PostgresFixture.Database, token);
        raw.Query("SELECT pg_backend_pid()");
        var pid = int.Parse(Encoding.UTF8.GetString((await raw.RoundTripAsync(token)).Single(m => m.Code == 'D').Payload[6..]), System.Globalization.CultureInfo.InvariantCulture);
        raw.Query("SELECT pg_sleep(60)");
        await raw.FlushAsync(token);
        Assert.True(await Sql.EventuallyAsync(
            async () => await Sql.OnPrimaryAsync<string>(fixture, $"SELECT state FROM pg_stat_activity WHERE pid = {pid}") == "active",
            TimeSpan.FromSeconds(10)));
        raw.Abort();

        var stopwatch = Stopwatch.StartNew();
        await using var next = await Sql.OpenAsync(proxy.ConnectionString(trust), token);
        Assert.Equal(pid, await next.ScalarAsync<int>("SELECT pg_backend_pid()", token));
        Assert.True(stopwatch.Elapsed < Promptly, $"the next client waited {stopwatch.Elapsed}: the abandoned query was not cancelled");
    }

    [Fact]
    public async Task Cancel_reaches_the_clients_current_query_after_its_server_changed()
    {
        await using var proxy = await fixture.StartProxyOnThreadPoolAsync(fixture.CreateProxyConfig(PoolMode.Transaction, 2));
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;
        await using var canceller = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);
        await using var other = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);

        // The canceller's first transaction runs on X...
        int x;
        await using (var transaction = await canceller.BeginTransactionAsync(token))
        {
            x = await canceller.ScalarAsync<int>("SELECT pg_backend_pid()", token);
            await transaction.CommitAsync(token);
        }

        // ...then the other client takes X (the warmest idle server) and sleeps there, so the canceller gets Y.
        await using var held = await other.BeginTransactionAsync(token);
        Assert.Equal(x, await other.ScalarAsync<int>("SELECT pg_backend_pid()", token));
        var othersSleep = other.ExecuteAsync("SELECT pg_sleep(4)", token);

        await using var command = new NpgsqlCommand("SELECT pg_sleep(30)", canceller);
        var stopwatch = Stopwatch.StartNew();
        var sleep = command.ExecuteNonQueryAsync(token);
        Assert.True(await Sql.EventuallyAsync(
            async () => await Sql.OnPrimaryAsync<long>(fixture, $"SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)' AND state = 'active' AND pid <> {x}") == 1,
            TimeSpan.FromSeconds(10)));
        // NpgsqlCommand.Cancel blocks until the cancel is delivered: off the test's thread, as an application would call it.
        await Task.Run(command.Cancel, token);

        // Npgsql reports a cancel it asked for as OperationCanceledException around the server's 57014.
        var error = await Assert.ThrowsAsync<OperationCanceledException>(() => sleep);
        Assert.Equal(PostgresErrorCodes.QueryCanceled, Assert.IsType<PostgresException>(error.InnerException).SqlState);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(15), $"the cancel took {stopwatch.Elapsed}");

        // The other client's statement on X was not the one cancelled.
        await othersSleep;
        await held.CommitAsync(token);
        Assert.Equal(1, await canceller.ScalarAsync<int>("SELECT 1", token));
    }

    [Fact]
    public async Task A_cancel_request_with_a_wrong_secret_key_changes_nothing()
    {
        var trust = TestRoles.Trust;
        await using var proxy = await fixture.StartProxyOnThreadPoolAsync(fixture.CreateProxyConfig(PoolMode.Transaction, 2));
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;
        await using var client = await RawClient.ConnectAsync(proxy.Port, trust.Name, null, PostgresFixture.Database, token);
        client.Query("SELECT pg_backend_pid()");
        var pid = int.Parse(Encoding.UTF8.GetString((await client.RoundTripAsync(token)).Single(m => m.Code == 'D').Payload[6..]), System.Globalization.CultureInfo.InvariantCulture);

        client.Query("SELECT pg_sleep(20)");
        await client.FlushAsync(token);
        Assert.True(await Sql.EventuallyAsync(
            async () => await Sql.OnPrimaryAsync<string>(fixture, $"SELECT state FROM pg_stat_activity WHERE pid = {pid}") == "active",
            TimeSpan.FromSeconds(10)));

        await client.SendCancelAsync(proxy.Port, token, secretKey: client.SecretKey ^ 0x5a5a5a5a);
        await Task.Delay(500, token);
        Assert.Equal("active", await Sql.OnPrimaryAsync<string>(fixture, $"SELECT state FROM pg_stat_activity WHERE pid = {pid}"));

        var stopwatch = Stopwatch.StartNew();
        await client.SendCancelAsync(proxy.Port, token);
        var replies = await client.ReadUntilReadyAsync(token);
        Assert.Equal("57014", Assert.Single(replies, m => m.Code == 'E').Fields()['C']);
        Assert.True(stopwatch.Elapsed < Promptly, $"the cancel took {stopwatch.Elapsed}");
    }

    private Task<string> CreateTableAsync(string name, string columns) =>
        fixture.Cluster.ExecuteAsync(fixture.PrimaryPort, $"DROP TABLE IF EXISTS {name}; CREATE TABLE {name} ({columns});", PostgresFixture.Database);
}
