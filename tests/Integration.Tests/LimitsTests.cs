using System.Diagnostics;
using Npgsql;
using Sluice.Integration.Tests.Fixtures;
using Sluice.Integration.Tests.Support;
using Sluice.Proxy.Configuration;

namespace Sluice.Integration.Tests;

/// <summary>Pool size, checkout_timeout and the client connection caps, as clients see them (53300 too_many_connections).</summary>
[Collection(PostgresCollection.Name)]
public sealed class LimitsTests(PostgresFixture fixture)
{
    [Fact]
    public async Task Pool_size_bounds_the_server_connections_and_waiting_clients_are_served_later()
    {
        const int PoolSize = 2;
        const int Clients = 5;
        var role = await TestSetup.CreateRoleAsync(fixture, "pool_bound");
        var config = TestSetup.Config(fixture, PoolMode.Session, PoolSize, TestSetup.UserFor(role));
        await using var proxy = await fixture.StartProxyAsync(config with { Pool = config.Pool with { CheckoutTimeout = TimeSpan.FromSeconds(30) } });
        var connectionString = proxy.ConnectionString(role);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var served = 0;
        var pids = new System.Collections.Concurrent.ConcurrentBag<int>();

        async Task ClientAsync()
        {
            await using var connection = await Db.OpenAsync(connectionString);
            pids.Add(await Db.ScalarAsync<int>(connection, "SELECT pg_backend_pid()"));
            Interlocked.Increment(ref served);
            await gate.Task;
            Assert.Equal(1, await Db.ScalarAsync<int>(connection, "SELECT 1"));
        }

        var clients = Enumerable.Range(0, Clients).Select(_ => Task.Run(ClientAsync)).ToArray();
        var peak = 0L;
        try
        {
            await Db.WaitUntilAsync(() => Task.FromResult(Volatile.Read(ref served) >= PoolSize), TimeSpan.FromSeconds(20), "the first clients to be served");

            // The sessions hold their servers: nobody else gets one, and PostgreSQL sees exactly pool-size connections.
            await Task.Delay(TimeSpan.FromSeconds(1));
            Assert.Equal(PoolSize, Volatile.Read(ref served));
            Assert.Equal(PoolSize, await TestSetup.ServerConnectionsAsync(fixture, role.Name));
            Assert.All(clients, client => Assert.False(client.IsCompleted, client.Exception?.ToString()));

            // Let them go: sessions end one after another and the waiting clients get the freed servers.
            using var watching = new CancellationTokenSource();
            var watcher = Task.Run(async () =>
            {
                while (!watching.IsCancellationRequested)
                {
                    peak = Math.Max(peak, await TestSetup.ServerConnectionsAsync(fixture, role.Name));
                    await Task.Delay(20);
                }
            });
            gate.SetResult();
            await Task.WhenAll(clients).WaitAsync(TimeSpan.FromSeconds(30));
            await watching.CancelAsync();
            await watcher.WaitAsync(Db.WaitLimit);
        }
        finally
        {
            gate.TrySetResult();
            await Db.SettleAsync(clients);
        }

        Assert.Equal(Clients, served);
        Assert.True(peak <= PoolSize, $"{peak} server connections at once with pool size {PoolSize}");
        Assert.InRange(pids.Distinct().Count(), 1, PoolSize);
    }

    [Theory]
    [InlineData(PoolMode.Session)]
    [InlineData(PoolMode.Transaction)]
    public async Task A_client_waiting_longer_than_checkout_timeout_gets_53300(PoolMode mode)
    {
        var checkoutTimeout = TimeSpan.FromMilliseconds(500);
        var config = TestSetup.Config(fixture, mode, poolSize: 1);
        await using var proxy = await fixture.StartProxyAsync(config with { Pool = config.Pool with { CheckoutTimeout = checkoutTimeout } });
        var connectionString = proxy.ConnectionString(TestRoles.Scram);

        await using (var holder = await Db.OpenAsync(connectionString))
        {
            // Session mode: holding the session holds the server; transaction mode: an open transaction does.
            Assert.Equal(1, await Db.ScalarAsync<int>(holder, "SELECT 1"));
            await Db.ExecuteAsync(holder, "BEGIN");

            var stopwatch = Stopwatch.StartNew();
            var error = await Assert.ThrowsAsync<PostgresException>(() => OpenAndQueryAsync(connectionString));
            var waited = stopwatch.Elapsed;

            Assert.Equal(PostgresErrorCodes.TooManyConnections, error.SqlState);
            Assert.Contains("checkout_timeout", error.MessageText, StringComparison.Ordinal);
            Assert.True(waited >= checkoutTimeout - TimeSpan.FromMilliseconds(50), $"refused after {waited.TotalMilliseconds:0} ms, before checkout_timeout");
            Assert.True(waited < TimeSpan.FromSeconds(10), $"refused only after {waited.TotalSeconds:0.0} s");

            // The holder is not disturbed by the refused client.
            Assert.Equal(2, await Db.ScalarAsync<int>(holder, "SELECT 2"));
            await Db.ExecuteAsync(holder, "COMMIT");
        }

        // Once the holder left, the server is free again.
        Assert.Equal(3, await OpenAndQueryAsync(connectionString));
    }

    [Fact]
    public async Task Server_max_client_connections_refuses_the_extra_client_at_login()
    {
        var config = TestSetup.Config(fixture, PoolMode.Transaction);
        await using var proxy = await fixture.StartProxyAsync(config with { Server = config.Server with { MaxClientConnections = 2 } });

        await using (var first = await Db.OpenAsync(proxy.ConnectionString(TestRoles.Scram)))
        await using (var second = await Db.OpenAsync(proxy.ConnectionString(TestRoles.Md5)))
        {
            var error = await Assert.ThrowsAsync<PostgresException>(() => Db.OpenAsync(proxy.ConnectionString(TestRoles.Plain)));
            Assert.Equal(PostgresErrorCodes.TooManyConnections, error.SqlState);
            Assert.Equal("FATAL", error.InvariantSeverity);

            var psql = await fixture.RunPsqlAsync(proxy.Port, "SELECT 1", TestRoles.Scram.Name, TestRoles.Scram.Password);
            Assert.NotEqual(0, psql.ExitCode);
            Assert.Contains("too many clients", psql.StandardError, StringComparison.Ordinal);

            Assert.Equal(1, await Db.ScalarAsync<int>(first, "SELECT 1"));
            Assert.Equal(1, await Db.ScalarAsync<int>(second, "SELECT 1"));
        }

        // The slots of clients that left are free again.
        await AssertEventuallyAdmittedAsync(proxy.ConnectionString(TestRoles.Plain));
    }

    [Fact]
    public async Task A_users_own_max_client_connections_refuses_only_that_user()
    {
        var config = TestSetup.Config(fixture, PoolMode.Transaction);
        var users = config.Users.Select(user => user.Name == TestRoles.Scram.Name ? user with { MaxClientConnections = 1 } : user).ToArray();
        await using var proxy = await fixture.StartProxyAsync(config with { Users = [.. users] });

        await using (var first = await Db.OpenAsync(proxy.ConnectionString(TestRoles.Scram)))
        {
            var error = await Assert.ThrowsAsync<PostgresException>(() => Db.OpenAsync(proxy.ConnectionString(TestRoles.Scram)));
            Assert.Equal(PostgresErrorCodes.TooManyConnections, error.SqlState);
            Assert.Contains(TestRoles.Scram.Name, error.MessageText, StringComparison.Ordinal);

            var psql = await fixture.RunPsqlAsync(proxy.Port, "SELECT 1", TestRoles.Scram.Name, TestRoles.Scram.Password);
            Assert.NotEqual(0, psql.ExitCode);
            Assert.Contains("too many connections for user", psql.StandardError, StringComparison.Ordinal);

            // Other users are not affected.
            await using var other = await Db.OpenAsync(proxy.ConnectionString(TestRoles.Md5));
            await using var another = await Db.OpenAsync(proxy.ConnectionString(TestRoles.Md5));
            Assert.Equal(1, await Db.ScalarAsync<int>(another, "SELECT 1"));
            Assert.Equal(1, await Db.ScalarAsync<int>(first, "SELECT 1"));
        }

        await AssertEventuallyAdmittedAsync(proxy.ConnectionString(TestRoles.Scram));
    }

    [Fact]
    public async Task Limits_max_user_client_connections_caps_every_user_unless_the_user_says_otherwise()
    {
        var config = TestSetup.Config(fixture, PoolMode.Transaction);
        var users = config.Users.Select(user => user.Name == TestRoles.Md5.Name ? user with { MaxClientConnections = 3 } : user).ToArray();
        await using var proxy = await fixture.StartProxyAsync(config with
        {
            Limits = config.Limits with { MaxUserClientConnections = 2 },
            Users = [.. users],
        });
        var held = new List<NpgsqlConnection>();
        try
        {
            held.Add(await Db.OpenAsync(proxy.ConnectionString(TestRoles.Scram)));
            held.Add(await Db.OpenAsync(proxy.ConnectionString(TestRoles.Scram)));
            var error = await Assert.ThrowsAsync<PostgresException>(() => Db.OpenAsync(proxy.ConnectionString(TestRoles.Scram)));
            Assert.Equal(PostgresErrorCodes.TooManyConnections, error.SqlState);

            // Another user has a cap of its own under the same default, and md5_user's own setting (3) wins.
            held.Add(await Db.OpenAsync(proxy.ConnectionString(TestRoles.Plain)));
            held.Add(await Db.OpenAsync(proxy.ConnectionString(TestRoles.Plain)));
            for (var i = 0; i < 3; i++)
            {
                held.Add(await Db.OpenAsync(proxy.ConnectionString(TestRoles.Md5)));
            }

            var md5Error = await Assert.ThrowsAsync<PostgresException>(() => Db.OpenAsync(proxy.ConnectionString(TestRoles.Md5)));
            Assert.Equal(PostgresErrorCodes.TooManyConnections, md5Error.SqlState);

            foreach (var connection in held)
            {
                Assert.Equal(1, await Db.ScalarAsync<int>(connection, "SELECT 1"));
            }
        }
        finally
        {
            foreach (var connection in held)
            {
                await connection.DisposeAsync();
            }
        }

        await AssertEventuallyAdmittedAsync(proxy.ConnectionString(TestRoles.Scram));
    }

    private static async Task<int> OpenAndQueryAsync(string connectionString)
    {
        await using var connection = await Db.OpenAsync(connectionString);
        return await Db.ScalarAsync<int>(connection, "SELECT 3");
    }

    /// <summary>A client that left frees its slot when the proxy has seen it go, which takes a moment.</summary>
    private static Task AssertEventuallyAdmittedAsync(string connectionString) =>
        Db.WaitUntilAsync(
            async () =>
            {
                try
                {
                    return await OpenAndQueryAsync(connectionString) == 3;
                }
                catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.TooManyConnections)
                {
                    return false;
                }
            },
            TimeSpan.FromSeconds(10),
            "a slot to be free again");
}
