using System.Data;
using System.Diagnostics;
using Npgsql;
using Sluice.Integration.Tests.Fixtures;
using Sluice.Proxy.Configuration;

namespace Sluice.Integration.Tests.TransactionMode;

/// <summary>The proxy's own timeouts and connection limits, and how the pool opens and closes servers over time.</summary>
[Collection(PostgresCollection.Name)]
public sealed class TimeoutAndLimitTests(PostgresFixture fixture)
{
    [Fact]
    public async Task Statement_timeout_from_limits_cancels_a_long_statement_and_the_connection_goes_on()
    {
        var config = fixture.CreateProxyConfig(PoolMode.Transaction, 2);
        await using var proxy = await fixture.StartProxyOnThreadPoolAsync(config with { Limits = config.Limits with { StatementTimeout = TimeSpan.FromSeconds(1) } });
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;
        await using var connection = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);

        await AssertCancelledByTimeoutAsync(connection, TimeSpan.FromSeconds(1), token);
        Assert.Equal(ConnectionState.Open, connection.State);
        Assert.Equal(1, await connection.ScalarAsync<int>("SELECT 1", token));

        // Inside a transaction block the transaction is aborted, as with PostgreSQL's own statement_timeout.
        await using (var transaction = await connection.BeginTransactionAsync(token))
        {
            await AssertCancelledByTimeoutAsync(connection, TimeSpan.FromSeconds(1), token);
            await transaction.RollbackAsync(token);
        }

        // Statements under the limit are untouched, each timed on its own (0.4 s each, 1.2 s together: a timer that
        // ran across statements would fire; 0.4 s leaves a loaded machine room below the 1 s limit).
        for (var n = 0; n < 3; n++)
        {
            await connection.ExecuteAsync("SELECT pg_sleep(0.4)", token);
        }

        Assert.Equal(2, await connection.ScalarAsync<int>("SELECT 2", token));
    }

    [Fact]
    public async Task Statement_timeout_of_a_user_overrides_the_limits()
    {
        var role = await Sql.CreateRoleAsync(fixture, "tx_limit_stmt");
        var config = fixture.CreateProxyConfig(PoolMode.Transaction, 2)
            .WithUser(role, user => user with { StatementTimeout = TimeSpan.FromSeconds(1) });
        await using var proxy = await fixture.StartProxyOnThreadPoolAsync(config with { Limits = config.Limits with { StatementTimeout = TimeSpan.FromSeconds(30) } });
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;
        await using var limited = await Sql.OpenAsync(proxy.ConnectionString(role), token);
        await using var other = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);

        var otherSleep = other.ExecuteAsync("SELECT pg_sleep(2.5)", token);
        await AssertCancelledByTimeoutAsync(limited, TimeSpan.FromSeconds(1), token);
        await otherSleep;
        Assert.Equal(1, await limited.ScalarAsync<int>("SELECT 1", token));
    }

    [Fact]
    public async Task Idle_in_transaction_timeout_rolls_back_disconnects_with_25P03_and_reuses_the_server()
    {
        var role = await Sql.CreateRoleAsync(fixture, "tx_limit_idle_tx");
        await fixture.Cluster.ExecuteAsync(fixture.PrimaryPort, "DROP TABLE IF EXISTS tx_limit_idle; CREATE TABLE tx_limit_idle (v text);", PostgresFixture.Database);
        var config = fixture.CreateProxyConfig(PoolMode.Transaction, 1).WithUser(role);
        await using var proxy = await fixture.StartProxyOnThreadPoolAsync(config with { Limits = config.Limits with { IdleInTransactionTimeout = TimeSpan.FromSeconds(1) } });
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;

        await using var idler = await Sql.OpenAsync(proxy.ConnectionString(role), token);
        await idler.ExecuteAsync("BEGIN", token);
        await idler.ExecuteAsync("INSERT INTO tx_limit_idle VALUES ('left idle')", token);
        var pid = await idler.ScalarAsync<int>("SELECT pg_backend_pid()", token);

        // A client that keeps working in its transaction is not idle.
        for (var n = 0; n < 4; n++)
        {
            await Task.Delay(400, token);
            await idler.ExecuteAsync("SELECT 1", token);
        }

        await Task.Delay(TimeSpan.FromSeconds(3), token);
        var error = await Assert.ThrowsAnyAsync<NpgsqlException>(() => idler.ExecuteAsync("SELECT 1", token));
        Assert.Equal("25P03", Sql.SqlStateOf(error));
        Assert.NotEqual(ConnectionState.Open, idler.State);

        Assert.Equal(0L, await Sql.OnPrimaryAsync<long>(fixture, "SELECT count(*) FROM tx_limit_idle"));
        await using var next = await Sql.OpenAsync(proxy.ConnectionString(role), token);
        Assert.Equal(pid, await next.ScalarAsync<int>("SELECT pg_backend_pid()", token));
        Assert.Equal(0L, await next.ScalarAsync<long>("SELECT count(*) FROM tx_limit_idle", token));
        await using (var fresh = await next.BeginTransactionAsync(token))
        {
            await next.ExecuteAsync("INSERT INTO tx_limit_idle VALUES ('committed')", token);
            await fresh.CommitAsync(token);
        }

        Assert.Equal(1L, await Sql.OnPrimaryAsync<long>(fixture, "SELECT count(*) FROM tx_limit_idle"));
    }

    [Fact]
    public async Task Client_idle_timeout_closes_an_idle_client_but_not_a_busy_one()
    {
        var config = fixture.CreateProxyConfig(PoolMode.Transaction, 2);
        await using var proxy = await fixture.StartProxyOnThreadPoolAsync(config with { Limits = config.Limits with { ClientIdleTimeout = TimeSpan.FromSeconds(1) } });
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;
        await using var idle = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);
        await using var busy = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);
        await idle.ExecuteAsync("SELECT 1", token);

        var stopwatch = Stopwatch.StartNew();
        while (stopwatch.Elapsed < TimeSpan.FromSeconds(3))
        {
            await busy.ExecuteAsync("SELECT 1", token);
            await Task.Delay(300, token);
        }

        await Assert.ThrowsAnyAsync<NpgsqlException>(() => idle.ExecuteAsync("SELECT 1", token));
        Assert.NotEqual(ConnectionState.Open, idle.State);
        Assert.Equal(1, await busy.ScalarAsync<int>("SELECT 1", token));
    }

    [Fact]
    public async Task Client_idle_timeout_closes_a_client_that_sent_nothing_after_login()
    {
        var config = fixture.CreateProxyConfig(PoolMode.Transaction, 2);
        await using var proxy = await fixture.StartProxyOnThreadPoolAsync(config with { Limits = config.Limits with { ClientIdleTimeout = TimeSpan.FromSeconds(1) } });
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;
        await using var raw = await RawClient.ConnectAsync(proxy.Port, TestRoles.Trust.Name, null, PostgresFixture.Database, token);
        var stopwatch = Stopwatch.StartNew();

        // Not one message after ReadyForQuery: the proxy's FATAL is the next thing the client reads.
        var error = await raw.ReadAsync(token);

        Assert.Equal('E', error.Code);
        Assert.Equal("57P05", error.Fields()['C']);
        Assert.InRange(stopwatch.Elapsed, TimeSpan.FromSeconds(0.8), TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_client_waiting_longer_than_checkout_timeout_gets_53300()
    {
        var config = fixture.CreateProxyConfig(PoolMode.Transaction, 1);
        await using var proxy = await fixture.StartProxyOnThreadPoolAsync(config with { Pool = config.Pool with { CheckoutTimeout = TimeSpan.FromSeconds(1) } });
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;
        await using var holder = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);
        await using var waiter = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);

        await using (var transaction = await holder.BeginTransactionAsync(token))
        {
            await holder.ExecuteAsync("SELECT 1", token);
            var stopwatch = Stopwatch.StartNew();
            var error = await Assert.ThrowsAnyAsync<NpgsqlException>(() => waiter.ExecuteAsync("SELECT 1", token));
            Assert.Equal(PostgresErrorCodes.TooManyConnections, Sql.SqlStateOf(error));
            Assert.InRange(stopwatch.Elapsed, TimeSpan.FromSeconds(0.8), TimeSpan.FromSeconds(10));
            await transaction.CommitAsync(token);
        }

        await using var later = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);
        Assert.Equal(1, await later.ScalarAsync<int>("SELECT 1", token));
    }

    [Fact]
    public async Task Max_client_connections_of_a_user_refuses_the_next_login_with_53300()
    {
        var role = await Sql.CreateRoleAsync(fixture, "tx_limit_user_cap");
        var config = fixture.CreateProxyConfig(PoolMode.Transaction, 2).WithUser(role, user => user with { MaxClientConnections = 2 });
        await using var proxy = await fixture.StartProxyOnThreadPoolAsync(config);
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;

        var first = await Sql.OpenAsync(proxy.ConnectionString(role), token);
        await using var second = await Sql.OpenAsync(proxy.ConnectionString(role), token);
        var refused = await Assert.ThrowsAnyAsync<NpgsqlException>(() => Sql.OpenAsync(proxy.ConnectionString(role), token));
        Assert.Equal(PostgresErrorCodes.TooManyConnections, Sql.SqlStateOf(refused));

        // Other users are not counted against it.
        await using var otherUser = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);
        await first.DisposeAsync();
        Assert.True(await Sql.EventuallyAsync(async () =>
        {
            try
            {
                await using var third = await Sql.OpenAsync(proxy.ConnectionString(role), token);
                return await third.ScalarAsync<int>("SELECT 1", token) == 1;
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.TooManyConnections)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task Max_user_client_connections_of_limits_applies_to_users_without_their_own_cap()
    {
        var capped = await Sql.CreateRoleAsync(fixture, "tx_limit_default_cap");
        var own = await Sql.CreateRoleAsync(fixture, "tx_limit_own_cap");
        var config = fixture.CreateProxyConfig(PoolMode.Transaction, 2)
            .WithUser(capped)
            .WithUser(own, user => user with { MaxClientConnections = 3 });
        await using var proxy = await fixture.StartProxyOnThreadPoolAsync(config with { Limits = config.Limits with { MaxUserClientConnections = 2 } });
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;
        var open = new List<NpgsqlConnection>();
        try
        {
            open.Add(await Sql.OpenAsync(proxy.ConnectionString(capped), token));
            open.Add(await Sql.OpenAsync(proxy.ConnectionString(capped), token));
            var refused = await Assert.ThrowsAnyAsync<NpgsqlException>(() => Sql.OpenAsync(proxy.ConnectionString(capped), token));
            Assert.Equal(PostgresErrorCodes.TooManyConnections, Sql.SqlStateOf(refused));

            for (var n = 0; n < 3; n++)
            {
                open.Add(await Sql.OpenAsync(proxy.ConnectionString(own), token));
            }

            refused = await Assert.ThrowsAnyAsync<NpgsqlException>(() => Sql.OpenAsync(proxy.ConnectionString(own), token));
            Assert.Equal(PostgresErrorCodes.TooManyConnections, Sql.SqlStateOf(refused));
            foreach (var connection in open)
            {
                Assert.Equal(1, await connection.ScalarAsync<int>("SELECT 1", token));
            }
        }
        finally
        {
            foreach (var connection in open)
            {
                await connection.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Server_idle_timeout_closes_idle_servers_and_new_ones_open_on_demand()
    {
        var role = await Sql.CreateRoleAsync(fixture, "tx_limit_server_idle");
        var config = fixture.CreateProxyConfig(PoolMode.Transaction, 3).WithUser(role);
        await using var proxy = await fixture.StartProxyOnThreadPoolAsync(config with { Pool = config.Pool with { ServerIdleTimeout = TimeSpan.FromSeconds(2) } });
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;
        var clients = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => Sql.OpenAsync(proxy.ConnectionString(role), token)));
        try
        {
            // Three transactions open at once need three servers.
            var transactions = await Task.WhenAll(clients.Select(async c =>
            {
                var transaction = await c.BeginTransactionAsync(token);
                await c.ExecuteAsync("SELECT 1", token);
                return transaction;
            }));
            Assert.Equal(3L, await Sql.CountBackendsAsync(fixture, role.Name));
            foreach (var transaction in transactions)
            {
                await transaction.CommitAsync(token);
            }

            // The clients stay connected, idle: their servers go after server_idle_timeout (+ the 1 s maintenance tick).
            Assert.Equal(3L, await Sql.CountBackendsAsync(fixture, role.Name));
            var stopwatch = Stopwatch.StartNew();
            Assert.True(await Sql.EventuallyAsync(async () => await Sql.CountBackendsAsync(fixture, role.Name) == 0, TimeSpan.FromSeconds(15)),
                "idle servers were not closed");
            Assert.True(stopwatch.Elapsed > TimeSpan.FromSeconds(1), $"servers closed after only {stopwatch.Elapsed}");

            Assert.Equal(1, await clients[0].ScalarAsync<int>("SELECT 1", token));
            Assert.Equal(1L, await Sql.CountBackendsAsync(fixture, role.Name));
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Server_lifetime_retires_a_server_only_once_its_transaction_is_over()
    {
        var role = await Sql.CreateRoleAsync(fixture, "tx_limit_lifetime");
        var config = fixture.CreateProxyConfig(PoolMode.Transaction, 2).WithUser(role);
        await using var proxy = await fixture.StartProxyOnThreadPoolAsync(config with { Pool = config.Pool with { ServerLifetime = TimeSpan.FromSeconds(2) } });
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;
        await using var connection = await Sql.OpenAsync(proxy.ConnectionString(role), token);

        int pid;
        await using (var transaction = await connection.BeginTransactionAsync(token))
        {
            pid = await connection.ScalarAsync<int>("SELECT pg_backend_pid()", token);
            // Well past server_lifetime, the transaction still runs on its server.
            for (var n = 0; n < 8; n++)
            {
                await Task.Delay(500, token);
                Assert.Equal(pid, await connection.ScalarAsync<int>("SELECT pg_backend_pid()", token));
            }

            await transaction.CommitAsync(token);
        }

        Assert.NotEqual(pid, await connection.ScalarAsync<int>("SELECT pg_backend_pid()", token));
        Assert.True(await Sql.EventuallyAsync(async () => !await Sql.BackendExistsAsync(fixture, pid), TimeSpan.FromSeconds(10)));

        // An idle server past its lifetime is closed too (by maintenance, with no client asking).
        Assert.True(await Sql.EventuallyAsync(async () => await Sql.CountBackendsAsync(fixture, role.Name) == 0, TimeSpan.FromSeconds(15)),
            "an idle server outlived server_lifetime");
    }

    [Fact]
    public async Task Min_size_opens_servers_before_any_client_connects()
    {
        var role = await Sql.CreateRoleAsync(fixture, "tx_limit_min_size");
        var config = fixture.CreateProxyConfig(PoolMode.Transaction, 5);
        config = config with
        {
            Pool = config.Pool with { MinSize = 2 },
            // Only this role (and the admin, which never gets a pool), so the warm-up opens servers for it alone.
            Users = [.. config.Users.Where(u => u.Name == PostgresFixture.AdminUser)],
        };
        await using var proxy = await fixture.StartProxyOnThreadPoolAsync(config.WithUser(role));

        Assert.True(await Sql.EventuallyAsync(async () => await Sql.CountBackendsAsync(fixture, role.Name) == 2, TimeSpan.FromSeconds(15)),
            "min_size servers were not opened on the primary");
        Assert.True(await Sql.EventuallyAsync(async () => await Sql.CountBackendsAsync(fixture, role.Name, fixture.ReplicaPort) == 2, TimeSpan.FromSeconds(15)),
            "min_size servers were not opened on the replica");
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.Equal(2L, await Sql.CountBackendsAsync(fixture, role.Name));

        await using var connection = await Sql.OpenAsync(proxy.ConnectionString(role));
        Assert.Equal(1, await connection.ScalarAsync<int>("SELECT 1"));
        Assert.Equal(2L, await Sql.CountBackendsAsync(fixture, role.Name));
    }

    private static async Task AssertCancelledByTimeoutAsync(NpgsqlConnection connection, TimeSpan limit, CancellationToken token)
    {
        var stopwatch = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<PostgresException>(() => connection.ExecuteAsync("SELECT pg_sleep(10)", token));
        Assert.Equal(PostgresErrorCodes.QueryCanceled, error.SqlState);
        // The sweeper looks ten times a second; a loaded machine gets some slack (still well short of the 10 s sleep).
        Assert.InRange(stopwatch.Elapsed, limit - TimeSpan.FromMilliseconds(100), limit + TimeSpan.FromSeconds(5));
    }
}
