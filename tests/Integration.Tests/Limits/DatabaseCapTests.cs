using System.Diagnostics;
using Npgsql;
using Sluice.Integration.Tests.Fixtures;
using Sluice.Integration.Tests.Support;
using Sluice.Proxy.Configuration;

namespace Sluice.Integration.Tests.Limits;

/// <summary>
/// Caps per database and the reserve pool, as PostgreSQL and clients see them: server connections counted in
/// pg_stat_activity, client refusals as 53300 naming the database.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class DatabaseCapTests(PostgresFixture fixture)
{
    private const string CappedDatabase = "capped";
    private const string CappedBackend = "lim_capped";

    [Fact]
    public async Task A_database_server_cap_holds_across_users_while_another_database_is_unaffected()
    {
        await EnsureBackendDatabaseAsync();
        var first = await TestSetup.CreateRoleAsync(fixture, "cap_a");
        var second = await TestSetup.CreateRoleAsync(fixture, "cap_b");
        var config = WithCappedDatabase(TestSetup.Config(fixture, PoolMode.Transaction, 10, TestSetup.UserFor(first), TestSetup.UserFor(second)), new DatabaseConfig
        {
            Name = CappedDatabase,
            BackendDatabase = CappedBackend,
            MaxServerConnections = 3,
            Servers = [Primary()],
        });
        config = config with { Pool = config.Pool with { CheckoutTimeout = TimeSpan.FromSeconds(30) } };
        await using var proxy = await fixture.StartProxyAsync(config);

        const int ClientsPerUser = 10;
        const int TransactionsPerClient = 5;
        var finished = 0;

        async Task ClientAsync(TestRole role)
        {
            await using var connection = await Db.OpenAsync(proxy.ConnectionString(role, CappedDatabase));
            for (var i = 0; i < TransactionsPerClient; i++)
            {
                await Db.ExecuteAsync(connection, "BEGIN; SELECT pg_sleep(0.02); COMMIT");
            }

            Interlocked.Increment(ref finished);
        }

        using var watching = new CancellationTokenSource();
        var peak = 0L;
        var watcher = Task.Run(async () =>
        {
            while (!watching.IsCancellationRequested)
            {
                peak = Math.Max(peak, await ServerConnectionsAsync(CappedBackend, first.Name, second.Name));
                await Task.Delay(10);
            }
        });

        // Meanwhile five clients of the other database each hold a transaction open: more than the capped database's 3.
        var other = TestRoles.Scram;
        var holders = new List<NpgsqlConnection>();
        var clients = Enumerable.Range(0, ClientsPerUser).SelectMany(_ => new[] { Task.Run(() => ClientAsync(first)), Task.Run(() => ClientAsync(second)) }).ToArray();
        try
        {
            for (var i = 0; i < 5; i++)
            {
                var holder = await Db.OpenAsync(proxy.ConnectionString(other));
                holders.Add(holder);
                await Db.ExecuteAsync(holder, "BEGIN; SELECT 1");
            }

            Assert.Equal(5L, await Db.PrimaryScalarAsync<long>(fixture,
                $"SELECT count(*) FROM pg_stat_activity WHERE usename = '{other.Name}' AND datname = '{PostgresFixture.Database}' AND state = 'idle in transaction'"));
            await Task.WhenAll(clients).WaitAsync(TimeSpan.FromSeconds(60));
        }
        finally
        {
            await Db.SettleAsync(clients);
            foreach (var holder in holders)
            {
                await holder.DisposeAsync();
            }

            await watching.CancelAsync();
            await watcher.WaitAsync(Db.WaitLimit);
        }

        Assert.Equal(2 * ClientsPerUser, finished);
        Assert.InRange(peak, 1, 3);
        Assert.InRange(await ServerConnectionsAsync(CappedBackend, first.Name, second.Name), 0, 3);
    }

    [Fact]
    public async Task The_client_over_a_database_cap_gets_53300_naming_the_database_and_another_database_still_logs_in()
    {
        var config = WithCappedDatabase(TestSetup.Config(fixture, PoolMode.Transaction), new DatabaseConfig
        {
            Name = CappedDatabase,
            BackendDatabase = PostgresFixture.Database,
            MaxClientConnections = 5,
            Servers = [Primary()],
        });
        await using var proxy = await fixture.StartProxyAsync(config);
        var role = TestRoles.Scram;
        var open = new List<NpgsqlConnection>();
        try
        {
            for (var i = 0; i < 5; i++)
            {
                open.Add(await Db.OpenAsync(proxy.ConnectionString(role, CappedDatabase)));
            }

            var refused = await Assert.ThrowsAsync<PostgresException>(() => Db.OpenAsync(proxy.ConnectionString(role, CappedDatabase)));
            Assert.Equal("53300", refused.SqlState);
            Assert.Contains($"database \"{CappedDatabase}\"", refused.MessageText, StringComparison.Ordinal);

            await using (var elsewhere = await Db.OpenAsync(proxy.ConnectionString(role)))
            {
                Assert.Equal(1, await Db.ScalarAsync<int>(elsewhere, "SELECT 1"));
            }

            var databases = await fixture.RunPsqlAsync(proxy.Port, "SHOW DATABASES", PostgresFixture.AdminUser, PostgresFixture.AdminPassword, "sluice");
            Assert.True(databases.Succeeded, databases.StandardError);
            var row = databases.StandardOutput.Split('\n').Single(line => line.StartsWith(CappedDatabase + "|", StringComparison.Ordinal)).Split('|');
            Assert.Equal(("5", "5"), (row[12], row[13]));

            // A client leaving makes room for the next.
            await open[0].DisposeAsync();
            open.RemoveAt(0);
            await Db.WaitUntilAsync(async () =>
            {
                try
                {
                    open.Add(await Db.OpenAsync(proxy.ConnectionString(role, CappedDatabase)));
                    return true;
                }
                catch (PostgresException ex) when (ex.SqlState == "53300")
                {
                    return false;
                }
            }, TimeSpan.FromSeconds(10), "a place under the cap");
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
    public async Task A_reserve_server_opens_only_once_a_client_has_waited_reserve_pool_timeout()
    {
        var role = await TestSetup.CreateRoleAsync(fixture, "reserve");
        var config = TestSetup.Config(fixture, PoolMode.Session, 2, TestSetup.UserFor(role));
        var reserveTimeout = TimeSpan.FromMilliseconds(200);
        config = config with { Pool = config.Pool with { ReservePoolSize = 1, ReservePoolTimeout = reserveTimeout, CheckoutTimeout = TimeSpan.FromSeconds(20) } };
        await using var proxy = await fixture.StartProxyAsync(config);
        await using var first = await Db.OpenAsync(proxy.ConnectionString(role));
        await using var second = await Db.OpenAsync(proxy.ConnectionString(role));
        Assert.Equal(1, await Db.ScalarAsync<int>(first, "SELECT 1"));
        Assert.Equal(1, await Db.ScalarAsync<int>(second, "SELECT 1"));
        Assert.Equal(2L, await TestSetup.ServerConnectionsAsync(fixture, role.Name));

        // Both servers are held by their sessions: the third client waits, and after reserve_pool_timeout the reserve serves it.
        var waited = Stopwatch.StartNew();
        await using var third = await Db.OpenAsync(proxy.ConnectionString(role));
        Assert.Equal(1, await Db.ScalarAsync<int>(third, "SELECT 1"));
        waited.Stop();

        Assert.True(waited.Elapsed >= reserveTimeout - TimeSpan.FromMilliseconds(20), $"served after {waited.Elapsed.TotalMilliseconds:0} ms");
        Assert.Equal(3L, await TestSetup.ServerConnectionsAsync(fixture, role.Name));

        // The reserve is one server: a fourth client waits until a session ends and hands its server over.
        var fourth = Task.Run(async () =>
        {
            await using var connection = await Db.OpenAsync(proxy.ConnectionString(role));
            return await Db.ScalarAsync<int>(connection, "SELECT 1");
        });
        try
        {
            await Task.Delay(reserveTimeout * 3);
            Assert.False(fourth.IsCompleted);
            Assert.Equal(3L, await TestSetup.ServerConnectionsAsync(fixture, role.Name));
            await first.CloseAsync();
            Assert.Equal(1, await fourth.WaitAsync(TimeSpan.FromSeconds(20)));
        }
        finally
        {
            await Db.SettleAsync(fourth);
        }
    }

    [Fact]
    public async Task A_reload_lowers_the_database_caps_for_the_next_client_and_server_and_cuts_off_none_that_run()
    {
        var role = await TestSetup.CreateRoleAsync(fixture, "capreload");
        var capped = new DatabaseConfig
        {
            Name = CappedDatabase,
            BackendDatabase = PostgresFixture.Database,
            MaxClientConnections = 4,
            MaxServerConnections = 4,
            Servers = [Primary()],
        };
        var plain = TestSetup.Config(fixture, PoolMode.Transaction, 10, TestSetup.UserFor(role));
        await using var proxy = await fixture.StartProxyAsync(WithCappedDatabase(plain, capped));
        var open = new List<NpgsqlConnection>();
        try
        {
            for (var i = 0; i < 4; i++)
            {
                var connection = await Db.OpenAsync(proxy.ConnectionString(role, CappedDatabase));
                open.Add(connection);
                await Db.ExecuteAsync(connection, "BEGIN; SELECT 1");
            }

            Assert.Equal(4L, await TestSetup.ServerConnectionsAsync(fixture, role.Name));

            proxy.Server.Reload(WithCappedDatabase(plain, capped with { MaxClientConnections = 2, MaxServerConnections = 1 }));

            // The four open transactions finish on their servers; the clients stay connected.
            foreach (var connection in open)
            {
                await Db.ExecuteAsync(connection, "COMMIT");
            }

            var refused = await Assert.ThrowsAsync<PostgresException>(() => Db.OpenAsync(proxy.ConnectionString(role, CappedDatabase)));
            Assert.Equal("53300", refused.SqlState);
            Assert.Contains($"database \"{CappedDatabase}\"", refused.MessageText, StringComparison.Ordinal);

            // The servers above the new cap closed as they came back; the four clients go on, sharing the one left.
            await Db.WaitUntilAsync(async () => await TestSetup.ServerConnectionsAsync(fixture, role.Name) <= 1, TimeSpan.FromSeconds(20), "server connections down to the lowered cap");
            await Task.WhenAll(open.Select(connection => Db.ExecuteAsync(connection, "BEGIN; SELECT pg_sleep(0.01); COMMIT")));
            Assert.InRange(await TestSetup.ServerConnectionsAsync(fixture, role.Name), 0, 1);
        }
        finally
        {
            foreach (var connection in open)
            {
                await connection.DisposeAsync();
            }
        }
    }

    private static ProxyConfig WithCappedDatabase(ProxyConfig config, DatabaseConfig capped) => config with { Databases = config.Databases.Add(capped) };

    private BackendServerConfig Primary() => new() { Host = "127.0.0.1", Port = fixture.PrimaryPort, Role = ServerRole.Primary };

    private Task<long> ServerConnectionsAsync(string database, params string[] roles) =>
        Db.PrimaryScalarAsync<long>(fixture,
            $"SELECT count(*) FROM pg_stat_activity WHERE datname = '{database}' AND usename IN ({string.Join(", ", roles.Select(r => $"'{r}'"))}) AND backend_type = 'client backend'");

    private async Task EnsureBackendDatabaseAsync()
    {
        if (await fixture.Cluster.ExecuteOnPrimaryAsync($"SELECT 1 FROM pg_database WHERE datname = '{CappedBackend}'") != "1")
        {
            await fixture.Cluster.ExecuteOnPrimaryAsync($"CREATE DATABASE {CappedBackend}");
        }
    }
}
