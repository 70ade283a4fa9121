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

    [Fact(Skip = "BUG: BEGIN over the extended protocol is now refused with 0A000, but Npgsql's BeginTransaction path then finds its connection closed (see closing note of the transaction pooling issue)")]
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
}
