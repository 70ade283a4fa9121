using Npgsql;
using Sluice.Integration.Tests.Fixtures;
using Sluice.Proxy.Configuration;

namespace Sluice.Integration.Tests.TransactionMode;

/// <summary>
/// Session state a server cannot hand over (LISTEN, session advisory locks, WITH HOLD cursors, SQL PREPARE, temporary
/// tables) ties its client to one server until it disconnects; then the server is cleaned before anyone else gets it.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PinningTests(PostgresFixture fixture)
{
    [Fact]
    public async Task A_listening_client_gets_notifications_sent_from_another_connection()
    {
        await using var proxy = await fixture.StartProxyOnThreadPoolAsync(fixture.CreateProxyConfig(PoolMode.Transaction, 2));
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;
        await using var listener = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);
        await using var notifier = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);
        var received = new List<(string Channel, string Payload)>();
        listener.Notification += (_, e) => received.Add((e.Channel, e.Payload));

        await listener.ExecuteAsync("LISTEN tx_pin_channel", token);
        var pid = await listener.ScalarAsync<int>("SELECT pg_backend_pid()", token);
        await OthersWorkAsync(proxy, token);
        Assert.Equal(pid, await listener.ScalarAsync<int>("SELECT pg_backend_pid()", token));

        for (var n = 0; n < 3; n++)
        {
            await notifier.ExecuteAsync($"NOTIFY tx_pin_channel, 'message {n}'", token);
            Assert.True(await listener.WaitAsync(TimeSpan.FromSeconds(10), token), $"notification {n} did not arrive within 10 s");
        }

        // From outside the proxy too.
        await using var direct = await Sql.OpenAsync(fixture.PrimaryConnectionString(), token);
        await direct.ExecuteAsync("SELECT pg_notify('tx_pin_channel', 'direct')", token);
        Assert.True(await listener.WaitAsync(TimeSpan.FromSeconds(10), token), "the direct notification did not arrive within 10 s");

        Assert.Equal(
            [("tx_pin_channel", "message 0"), ("tx_pin_channel", "message 1"), ("tx_pin_channel", "message 2"), ("tx_pin_channel", "direct")],
            received);
    }

    [Fact]
    public async Task A_session_advisory_lock_is_held_across_transactions_until_unlocked()
    {
        await using var proxy = await fixture.StartProxyOnThreadPoolAsync(fixture.CreateProxyConfig(PoolMode.Transaction, 2));
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;
        await using var holder = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);
        await using var other = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Md5), token);

        await holder.ExecuteAsync("SELECT pg_advisory_lock(424242)", token);
        var pid = await holder.ScalarAsync<int>("SELECT pg_backend_pid()", token);
        await OthersWorkAsync(proxy, token);

        Assert.Equal(1L, await Sql.OnPrimaryAsync<long>(fixture, $"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 424242 AND pid = {pid} AND granted"));
        Assert.False(await other.ScalarAsync<bool>("SELECT pg_try_advisory_lock(424242)", token));
        await using (var transaction = await holder.BeginTransactionAsync(token))
        {
            Assert.Equal(pid, await holder.ScalarAsync<int>("SELECT pg_backend_pid()", token));
            await transaction.CommitAsync(token);
        }

        Assert.True(await holder.ScalarAsync<bool>("SELECT pg_advisory_unlock(424242)", token));
        Assert.True(await other.ScalarAsync<bool>("SELECT pg_try_advisory_lock(424242)", token));
        Assert.True(await other.ScalarAsync<bool>("SELECT pg_advisory_unlock(424242)", token));
    }

    [Fact]
    public async Task A_with_hold_cursor_is_fetched_from_in_later_transactions()
    {
        await using var proxy = await fixture.StartProxyOnThreadPoolAsync(fixture.CreateProxyConfig(PoolMode.Transaction, 2));
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;
        await using var connection = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);

        await connection.ExecuteAsync("DECLARE tx_pin_cursor CURSOR WITH HOLD FOR SELECT i FROM generate_series(1, 9) i", token);
        var fetched = new List<int>();
        for (var round = 0; round < 3; round++)
        {
            await OthersWorkAsync(proxy, token);
            await using var transaction = await connection.BeginTransactionAsync(token);
            await using (var command = new NpgsqlCommand("FETCH 3 FROM tx_pin_cursor", connection))
            await using (var reader = await command.ExecuteReaderAsync(token))
            {
                while (await reader.ReadAsync(token))
                {
                    fetched.Add(reader.GetInt32(0));
                }
            }

            await transaction.CommitAsync(token);
        }

        Assert.Equal(Enumerable.Range(1, 9), fetched);
        await connection.ExecuteAsync("CLOSE tx_pin_cursor", token);
    }

    [Fact]
    public async Task Sql_prepare_and_execute_work_in_later_transactions()
    {
        await using var proxy = await fixture.StartProxyOnThreadPoolAsync(fixture.CreateProxyConfig(PoolMode.Transaction, 2));
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;
        await using var connection = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);

        await connection.ExecuteAsync("PREPARE tx_pin_double(int) AS SELECT $1 * 2", token);
        for (var n = 0; n < 5; n++)
        {
            await OthersWorkAsync(proxy, token);
            await using var transaction = await connection.BeginTransactionAsync(token);
            Assert.Equal(n * 2, await connection.ScalarAsync<int>($"EXECUTE tx_pin_double({n})", token));
            await transaction.CommitAsync(token);
        }

        await connection.ExecuteAsync("DEALLOCATE tx_pin_double", token);
    }

    [Fact]
    public async Task A_temporary_table_stays_visible_in_later_transactions()
    {
        await using var proxy = await fixture.StartProxyOnThreadPoolAsync(fixture.CreateProxyConfig(PoolMode.Transaction, 2));
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;
        await using var connection = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);

        await connection.ExecuteAsync("CREATE TEMP TABLE tx_pin_temp (v int)", token);
        for (var n = 1; n <= 5; n++)
        {
            await OthersWorkAsync(proxy, token);
            await using var transaction = await connection.BeginTransactionAsync(token);
            await connection.ExecuteAsync($"INSERT INTO tx_pin_temp VALUES ({n})", token);
            Assert.Equal((long)n, await connection.ScalarAsync<long>("SELECT count(*) FROM tx_pin_temp", token));
            await transaction.CommitAsync(token);
        }
    }

    [Fact]
    public async Task After_a_pinned_client_leaves_the_next_client_gets_a_clean_server()
    {
        var role = await Sql.CreateRoleAsync(fixture, "tx_pin_clean");
        await using var proxy = await fixture.StartProxyOnThreadPoolAsync(fixture.CreateProxyConfig(PoolMode.Transaction, 1).WithUser(role));
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;

        int pid;
        await using (var pinned = await Sql.OpenAsync(proxy.ConnectionString(role), token))
        {
            await pinned.ExecuteAsync("LISTEN tx_pin_clean_channel", token);
            await pinned.ExecuteAsync("SELECT pg_advisory_lock(515151)", token);
            await pinned.ExecuteAsync("CREATE TEMP TABLE tx_pin_clean_temp (v int)", token);
            await pinned.ExecuteAsync("PREPARE tx_pin_clean_statement AS SELECT 1", token);
            await pinned.ExecuteAsync("DECLARE tx_pin_clean_cursor CURSOR WITH HOLD FOR SELECT 1", token);
            await pinned.ExecuteAsync("SET search_path TO pg_catalog", token);
            pid = await pinned.ScalarAsync<int>("SELECT pg_backend_pid()", token);
            Assert.Equal(1L, await Sql.OnPrimaryAsync<long>(fixture, $"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = {pid}"));
        }

        await using var next = await Sql.OpenAsync(proxy.ConnectionString(role), token);
        Assert.Equal(pid, await next.ScalarAsync<int>("SELECT pg_backend_pid()", token));
        Assert.Equal(0L, await next.ScalarAsync<long>("SELECT count(*) FROM pg_listening_channels()", token));
        Assert.Null(await next.ScalarAsync<string>("SELECT to_regclass('tx_pin_clean_temp')::text", token));
        Assert.Equal(0L, await next.ScalarAsync<long>("SELECT count(*) FROM pg_prepared_statements WHERE name = 'tx_pin_clean_statement'", token));
        Assert.Equal(0L, await next.ScalarAsync<long>("SELECT count(*) FROM pg_cursors WHERE name = 'tx_pin_clean_cursor'", token));
        Assert.Equal("\"$user\", public", await next.ScalarAsync<string>("SHOW search_path", token));
        Assert.Equal(0L, await Sql.OnPrimaryAsync<long>(fixture, $"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = {pid}"));
        Assert.True(await next.ScalarAsync<bool>("SELECT pg_try_advisory_lock(515151)", token));
        await next.ExecuteAsync("SELECT pg_advisory_unlock_all()", token);
    }

    [Fact]
    public async Task A_pinned_client_keeps_its_server_while_others_share_the_rest_of_the_pool()
    {
        await using var proxy = await fixture.StartProxyOnThreadPoolAsync(fixture.CreateProxyConfig(PoolMode.Transaction, 2));
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;
        await using var pinned = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);
        await pinned.ExecuteAsync("CREATE TEMP TABLE tx_pin_share (v int)", token);
        var pinnedPid = await pinned.ScalarAsync<int>("SELECT pg_backend_pid()", token);

        var seen = await OthersWorkAsync(proxy, token, clients: 10);

        Assert.DoesNotContain(pinnedPid, seen);
        Assert.Single(seen);
        Assert.Equal(pinnedPid, await pinned.ScalarAsync<int>("SELECT pg_backend_pid()", token));
    }

    /// <summary>Other clients of the same user run short transactions meanwhile; returns the servers they got.</summary>
    private static async Task<HashSet<int>> OthersWorkAsync(RunningProxy proxy, CancellationToken token, int clients = 3)
    {
        var pids = await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => Task.Run(async () =>
        {
            await using var connection = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);
            var seen = new HashSet<int>();
            for (var n = 0; n < 5; n++)
            {
                await using var transaction = await connection.BeginTransactionAsync(token);
                seen.Add(await connection.ScalarAsync<int>("SELECT pg_backend_pid()", token));
                await transaction.CommitAsync(token);
            }

            return seen;
        }, token)));
        return [.. pids.SelectMany(p => p)];
    }
}
