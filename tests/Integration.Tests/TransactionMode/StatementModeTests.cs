using System.Data;
using Npgsql;
using Sluice.Integration.Tests.Fixtures;
using Sluice.Proxy.Configuration;

namespace Sluice.Integration.Tests.TransactionMode;

/// <summary>Statement mode: a server per statement; transaction blocks are refused up front.</summary>
[Collection(PostgresCollection.Name)]
public sealed class StatementModeTests(PostgresFixture fixture)
{
    [Fact]
    public async Task Single_statements_from_many_clients_work()
    {
        await fixture.Cluster.ExecuteAsync(fixture.PrimaryPort, "DROP TABLE IF EXISTS tx_stmt_rows; CREATE TABLE tx_stmt_rows (client int, n int);", PostgresFixture.Database);
        // Each client reads back what it just wrote: everything on the primary (reads on a replica may lag).
        var config = fixture.CreateProxyConfig(PoolMode.Statement, 3);
        await using var proxy = await fixture.StartProxyOnThreadPoolAsync(config with { Routing = config.Routing with { ReadWriteSplit = false } });
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;

        await Task.WhenAll(Enumerable.Range(0, 20).Select(client => Task.Run(async () =>
        {
            await using var connection = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);
            for (var n = 0; n < 20; n++)
            {
                await connection.ExecuteAsync($"INSERT INTO tx_stmt_rows VALUES ({client}, {n})", token);
                Assert.Equal(n + 1L, await connection.ScalarAsync<long>($"SELECT count(*) FROM tx_stmt_rows WHERE client = {client}", token));
            }
        }, token)));

        Assert.Equal(400L, await Sql.OnPrimaryAsync<long>(fixture, "SELECT count(*) FROM tx_stmt_rows"));
        var psql = await fixture.RunPsqlAsync(proxy.Port, "SELECT 1; SELECT count(*) FROM tx_stmt_rows", TestRoles.Scram.Name, TestRoles.Scram.Password);
        Assert.Equal((0, "1\n400"), (psql.ExitCode, psql.StandardOutput.Trim()));
    }

    [Fact]
    public async Task Begin_over_the_simple_protocol_is_refused_with_0A000_and_the_connection_goes_on()
    {
        await using var proxy = await fixture.StartProxyOnThreadPoolAsync(fixture.CreateProxyConfig(PoolMode.Statement, 1));

        var psql = await fixture.RunPsqlAsync(proxy.Port, "BEGIN", TestRoles.Scram.Name, TestRoles.Scram.Password);
        Assert.NotEqual(0, psql.ExitCode);
        Assert.Contains("statement", psql.StandardError, StringComparison.OrdinalIgnoreCase);

        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;
        await using var raw = await RawClient.ConnectAsync(proxy.Port, TestRoles.Trust.Name, null, PostgresFixture.Database, token);
        foreach (var begin in new[] { "BEGIN", "begin isolation level serializable", "START TRANSACTION" })
        {
            raw.Query(begin);
            var replies = await raw.RoundTripAsync(token);
            var error = Assert.Single(replies, m => m.Code == 'E').Fields();
            Assert.Equal("0A000", error['C']);
            Assert.Contains("statement", error['M'], StringComparison.OrdinalIgnoreCase);
            Assert.Equal('I', (char)replies[^1].Payload[0]);
        }

        raw.Query("SELECT 42");
        Assert.Contains(await raw.RoundTripAsync(token), m => m.Code == 'D');
    }

    [Fact]
    public async Task Begin_from_npgsql_is_refused_with_0A000_and_the_connection_goes_on()
    {
        await using var proxy = await fixture.StartProxyOnThreadPoolAsync(fixture.CreateProxyConfig(PoolMode.Statement, 1));
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;
        await using var connection = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);
        await using var other = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Md5), token);

        var error = await Assert.ThrowsAsync<PostgresException>(() => connection.ExecuteAsync("BEGIN", token));
        Assert.Equal(PostgresErrorCodes.FeatureNotSupported, error.SqlState);
        Assert.Contains("statement", error.MessageText, StringComparison.OrdinalIgnoreCase);

        var viaApi = await Assert.ThrowsAsync<PostgresException>(async () =>
        {
            await using var transaction = await connection.BeginTransactionAsync(token);
            await connection.ExecuteAsync("SELECT 1", token);
        });
        Assert.Equal(PostgresErrorCodes.FeatureNotSupported, viaApi.SqlState);

        Assert.Equal(ConnectionState.Open, connection.State);
        Assert.Equal(1, await connection.ScalarAsync<int>("SELECT 1", token));
        // The one server was never held by a transaction: another client gets it at once.
        Assert.Equal(2, await other.ScalarAsync<int>("SELECT 2", token));
    }

    [Fact]
    public async Task Npgsql_transaction_api_gets_0A000_at_its_first_statement_and_nothing_of_it_runs()
    {
        await fixture.Cluster.ExecuteAsync(fixture.PrimaryPort, "DROP TABLE IF EXISTS stmt_api_rows; CREATE TABLE stmt_api_rows (n int);", PostgresFixture.Database);
        await using var proxy = await fixture.StartProxyOnThreadPoolAsync(fixture.CreateProxyConfig(PoolMode.Statement, 1));
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;
        await using var connection = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);

        await using (var transaction = await connection.BeginTransactionAsync(IsolationLevel.Serializable, token))
        {
            var error = await Assert.ThrowsAsync<PostgresException>(() => connection.ExecuteAsync("INSERT INTO stmt_api_rows VALUES (1)", token));
            Assert.Equal(PostgresErrorCodes.FeatureNotSupported, error.SqlState);

            // The block stays failed, as PostgreSQL's would, until the client ends it.
            var again = await Assert.ThrowsAsync<PostgresException>(() => connection.ExecuteAsync("INSERT INTO stmt_api_rows VALUES (2)", token));
            Assert.Equal(PostgresErrorCodes.FeatureNotSupported, again.SqlState);
            await transaction.RollbackAsync(token);
        }

        // A transaction with no statement in it commits fine: there was nothing to run.
        await using (var empty = await connection.BeginTransactionAsync(token))
        {
            await empty.CommitAsync(token);
        }

        Assert.Equal(ConnectionState.Open, connection.State);
        Assert.Equal(0L, await connection.ScalarAsync<long>("SELECT count(*) FROM stmt_api_rows", token));
        Assert.Equal(0L, await Sql.OnPrimaryAsync<long>(fixture, "SELECT count(*) FROM stmt_api_rows"));
    }

    [Fact]
    public async Task Begin_with_statements_pipelined_behind_it_opens_a_block_where_each_fails_until_commit_or_rollback()
    {
        await fixture.Cluster.ExecuteAsync(fixture.PrimaryPort, "DROP TABLE IF EXISTS stmt_block_rows; CREATE TABLE stmt_block_rows (n int);", PostgresFixture.Database);
        await using var proxy = await fixture.StartProxyOnThreadPoolAsync(fixture.CreateProxyConfig(PoolMode.Statement, 1));
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;
        await using var raw = await RawClient.ConnectAsync(proxy.Port, TestRoles.Trust.Name, null, PostgresFixture.Database, token);

        // Npgsql's BeginTransaction on the wire: a simple-query BEGIN sent in one go with the next command's batch.
        raw.Query("BEGIN ISOLATION LEVEL REPEATABLE READ");
        raw.Parse("", "INSERT INTO stmt_block_rows VALUES (1)");
        raw.Bind("", "");
        raw.Describe('P', "");
        raw.Execute();
        raw.Sync();
        Assert.Equal(["C", "Z:T"], Codes(await raw.RoundTripAsync(token)));
        var batch = await raw.ReadUntilReadyAsync(token);
        Assert.Equal(["E", "Z:E"], Codes(batch));
        Assert.Equal("0A000", batch[0].Fields()['C']);

        raw.Query("INSERT INTO stmt_block_rows VALUES (2)");
        Assert.Equal(["E", "Z:E"], Codes(await raw.RoundTripAsync(token)));
        raw.Sync();
        Assert.Equal(["Z:E"], Codes(await raw.RoundTripAsync(token)));
        raw.Query("COMMIT");
        var end = await raw.RoundTripAsync(token);
        Assert.Equal(["C", "Z:I"], Codes(end));
        Assert.Equal("ROLLBACK", Tag(end[0]));

        // Ended over the extended protocol, before any statement failed: COMMIT.
        raw.Query("START TRANSACTION");
        raw.Parse("", "COMMIT");
        raw.Bind("", "");
        raw.Execute();
        raw.Sync();
        Assert.Equal(["C", "Z:T"], Codes(await raw.RoundTripAsync(token)));
        var commit = await raw.ReadUntilReadyAsync(token);
        Assert.Equal(["1", "2", "C", "Z:I"], Codes(commit));
        Assert.Equal("COMMIT", Tag(commit[2]));

        raw.Query("SELECT count(*) FROM stmt_block_rows");
        var count = await raw.RoundTripAsync(token);
        Assert.Equal(["T", "D", "C", "Z:I"], Codes(count));
        Assert.Equal(0L, await Sql.OnPrimaryAsync<long>(fixture, "SELECT count(*) FROM stmt_block_rows"));
    }

    [Fact]
    public async Task Begin_later_in_a_batch_fails_where_postgres_would_and_the_batch_is_rolled_back()
    {
        await fixture.Cluster.ExecuteAsync(fixture.PrimaryPort, "DROP TABLE IF EXISTS stmt_batch_rows; CREATE TABLE stmt_batch_rows (n int);", PostgresFixture.Database);
        await using var proxy = await fixture.StartProxyOnThreadPoolAsync(fixture.CreateProxyConfig(PoolMode.Statement, 1));
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;
        await using var raw = await RawClient.ConnectAsync(proxy.Port, TestRoles.Trust.Name, null, PostgresFixture.Database, token);

        // One Sync: the INSERT before BEGIN ran on a server already, the one after it must reach none.
        raw.Parse("", "INSERT INTO stmt_batch_rows VALUES (1)");
        raw.Bind("", "");
        raw.Execute();
        raw.Parse("", "BEGIN");
        raw.Bind("", "");
        raw.Execute();
        raw.Parse("", "INSERT INTO stmt_batch_rows VALUES (2)");
        raw.Bind("", "");
        raw.Execute();
        raw.Sync();
        var replies = await raw.RoundTripAsync(token);
        Assert.Equal(["1", "2", "C", "E", "Z:I"], Codes(replies));
        Assert.Equal("0A000", replies[3].Fields()['C']);
        Assert.Contains("statement pooling mode", replies[3].Fields()['M'], StringComparison.Ordinal);

        // A simple query with BEGIN anywhere in it is refused before any of it runs.
        raw.Query("INSERT INTO stmt_batch_rows VALUES (3); BEGIN; INSERT INTO stmt_batch_rows VALUES (4)");
        Assert.Equal(["E", "Z:I"], Codes(await raw.RoundTripAsync(token)));
        raw.Query("SELECT 1; BEGIN");
        Assert.Equal(["E", "Z:I"], Codes(await raw.RoundTripAsync(token)));

        await using var connection = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);
        var error = await Assert.ThrowsAsync<PostgresException>(() => connection.ExecuteAsync("INSERT INTO stmt_batch_rows VALUES (5); BEGIN; INSERT INTO stmt_batch_rows VALUES (6)", token));
        Assert.Equal(PostgresErrorCodes.FeatureNotSupported, error.SqlState);

        raw.Query("SELECT 42");
        Assert.Contains(await raw.RoundTripAsync(token), m => m.Code == 'D');
        Assert.Equal(1, await connection.ScalarAsync<int>("SELECT 1", token));
        Assert.Equal(0L, await Sql.OnPrimaryAsync<long>(fixture, "SELECT count(*) FROM stmt_batch_rows"));
    }

    [Fact]
    public async Task A_pinned_client_is_refused_transaction_blocks_too()
    {
        await fixture.Cluster.ExecuteAsync(fixture.PrimaryPort, "DROP TABLE IF EXISTS stmt_pinned_rows; CREATE TABLE stmt_pinned_rows (n int);", PostgresFixture.Database);
        await using var proxy = await fixture.StartProxyOnThreadPoolAsync(fixture.CreateProxyConfig(PoolMode.Statement, 2));
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;
        await using var connection = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);

        // LISTEN ties the client to its server: the refusals below are made on that server, in line with its replies.
        await connection.ExecuteAsync("LISTEN stmt_mode_pinned", token);
        var begin = await Assert.ThrowsAsync<PostgresException>(() => connection.ExecuteAsync("BEGIN", token));
        Assert.Equal(PostgresErrorCodes.FeatureNotSupported, begin.SqlState);
        Assert.Contains("statement pooling mode", begin.MessageText, StringComparison.Ordinal);

        await using (var transaction = await connection.BeginTransactionAsync(token))
        {
            var viaApi = await Assert.ThrowsAsync<PostgresException>(() => connection.ExecuteAsync("INSERT INTO stmt_pinned_rows VALUES (1)", token));
            Assert.Equal(PostgresErrorCodes.FeatureNotSupported, viaApi.SqlState);
            await transaction.RollbackAsync(token);
        }

        var inBatch = await Assert.ThrowsAsync<PostgresException>(() => connection.ExecuteAsync("INSERT INTO stmt_pinned_rows VALUES (2); BEGIN", token));
        Assert.Equal(PostgresErrorCodes.FeatureNotSupported, inBatch.SqlState);

        Assert.Equal(ConnectionState.Open, connection.State);
        Assert.Equal(1, await connection.ScalarAsync<int>("SELECT 1", token));
        Assert.Equal(0L, await Sql.OnPrimaryAsync<long>(fixture, "SELECT count(*) FROM stmt_pinned_rows"));
    }

    /// <summary>Message codes, with the transaction status of each ReadyForQuery ("Z:I").</summary>
    private static string[] Codes(List<RawMessage> messages) =>
        [.. messages.Select(m => m.Code == 'Z' ? $"Z:{(char)m.Payload[0]}" : m.Code.ToString())];

    private static string Tag(RawMessage commandComplete) => System.Text.Encoding.UTF8.GetString(commandComplete.Payload).TrimEnd('\0');
}
