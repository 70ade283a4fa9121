using System.Text;
using Npgsql;
using Sluice.Integration.Tests.Fixtures;
using Sluice.Proxy.Configuration;

namespace Sluice.Integration.Tests.TransactionMode;

/// <summary>
/// A Parse of a text a server already parsed through the proxy is answered by the proxy, with no server lent: while
/// every server is held by other clients, preparing (and describing) a known statement still completes. What needs a
/// server still gets one: an unknown text, so errors come at prepare time as on PostgreSQL, and the first Bind.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PrepareWithoutServerTests(PostgresFixture fixture)
{
    [Fact]
    public async Task A_known_statement_is_prepared_and_described_while_every_server_is_held_elsewhere()
    {
        await using var proxy = await StartAsync(poolSize: 1);
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;
        const string Text = "SELECT $1::int + 1 AS next, 'x'::text AS label";

        // The first client's Parse and Describe go to a server; PostgreSQL's answers are what the proxy learns.
        await using var first = await ConnectAsync(proxy.Port, token);
        first.Parse("S_1", Text);
        first.Describe('S', "S_1");
        first.Sync();
        var learned = await first.RoundTripAsync(token);
        Assert.Equal("1tTZ", Codes(learned));

        // Same user, so same pool: the holder takes its only server into a transaction.
        await using var holder = await ConnectAsync(proxy.Port, token);
        holder.Query("BEGIN");
        holder.Query("SELECT 1");
        await holder.RoundTripAsync(token);
        Assert.Equal('T', (char)(await holder.ReadUntilReadyAsync(token))[^1].Payload[0]);

        // The only server is in the holder's transaction: these would wait for it (checkout_timeout 60s) if they needed it.
        await using var second = await ConnectAsync(proxy.Port, token);
        second.Parse("mine", Text);
        second.Sync();
        Assert.Equal("1Z", Codes(await second.RoundTripAsync(token)));
        second.Describe('S', "mine");
        second.Sync();
        var described = await second.RoundTripAsync(token);
        Assert.Equal("tTZ", Codes(described));
        Assert.Equal(learned[1].Payload, described[0].Payload);
        Assert.Equal(learned[2].Payload, described[1].Payload);
        second.Close('S', "mine");
        second.Sync();
        Assert.Equal("3Z", Codes(await second.RoundTripAsync(token)));
        second.Parse("again", Text);
        second.Sync();
        Assert.Equal("1Z", Codes(await second.RoundTripAsync(token)));

        // Executing needs the server: the real Parse goes there at the first Bind, as soon as it is free.
        second.Bind("", "again", "41");
        second.Execute();
        second.Sync();
        var execution = second.RoundTripAsync(token);
        holder.Query("COMMIT");
        await holder.RoundTripAsync(token);
        var replies = await execution;
        Assert.Equal("2DCZ", Codes(replies));
        Assert.Equal("42", Encoding.UTF8.GetString(replies[1].Payload, 6, 2));
    }

    [Fact]
    public async Task A_statement_never_parsed_still_goes_to_a_server_so_errors_come_at_prepare_time()
    {
        await using var proxy = await StartAsync(poolSize: 1);
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;
        await using var client = await ConnectAsync(proxy.Port, token);
        foreach (var (text, sqlState) in new[] { ("SELEC 1", "42601"), ("SELECT * FROM no_such_table_tx_ps", "42P01"), ("SELECT $1::int + $1::text", "42883") })
        {
            for (var attempt = 0; attempt < 2; attempt++)
            {
                // Twice: a failed Parse teaches the proxy nothing, so the second is refused by the server too.
                client.Parse("bad", text);
                client.Sync();
                var replies = await client.RoundTripAsync(token);
                Assert.Equal("EZ", Codes(replies));
                Assert.Equal(sqlState, replies[0].Fields()['C']);
            }
        }

        // Npgsql's Prepare() throws at prepare time, as against PostgreSQL.
        await using var connection = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);
        await using var command = new NpgsqlCommand("SELECT * FROM no_such_table_tx_ps", connection);
        var error = await Assert.ThrowsAsync<PostgresException>(() => command.PrepareAsync(token));
        Assert.Equal("42P01", error.SqlState);
    }

    [Fact]
    public async Task After_alter_table_through_the_proxy_the_next_prepare_and_execute_give_the_new_shape()
    {
        await using var proxy = await StartAsync(poolSize: 1);
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;
        await using var ddl = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);
        await ddl.ExecuteAsync("DROP TABLE IF EXISTS tx_ps_shape; CREATE TABLE tx_ps_shape (a int); INSERT INTO tx_ps_shape VALUES (1)", token);
        const string Text = "SELECT * FROM tx_ps_shape";
        await using (var before = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token))
        await using (var select = new NpgsqlCommand(Text, before))
        {
            await select.PrepareAsync(token);
            await using var reader = await select.ExecuteReaderAsync(token);
            Assert.Equal(1, reader.FieldCount);
        }

        // The type of a changes and a column is added: the statement the server keeps no longer fits.
        await ddl.ExecuteAsync("ALTER TABLE tx_ps_shape ALTER COLUMN a TYPE bigint, ADD COLUMN b text DEFAULT 'new'", token);

        await using var after = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);
        await using var again = new NpgsqlCommand(Text, after);
        await again.PrepareAsync(token);
        await using (var reader = await again.ExecuteReaderAsync(token))
        {
            Assert.Equal(2, reader.FieldCount);
            Assert.Equal(typeof(long), reader.GetFieldType(0));
            Assert.True(await reader.ReadAsync(token));
            Assert.Equal(1L, reader.GetInt64(0));
            Assert.Equal("new", reader.GetString(1));
        }
    }

    [Theory]
    [InlineData("explicit")]
    [InlineData("auto")]
    [InlineData("threshold")]
    public async Task Npgsql_prepares_through_a_pool_smaller_than_its_clients_without_errors(string style)
    {
        await fixture.Cluster.ExecuteAsync(fixture.PrimaryPort, "CREATE TABLE IF NOT EXISTS tx_ps_small (client int, n int);", PostgresFixture.Database);
        await using var proxy = await StartAsync(poolSize: 2);
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;
        var builder = new NpgsqlConnectionStringBuilder(proxy.ConnectionString(TestRoles.Scram));
        if (style != "explicit")
        {
            // "threshold": prepared only from its fifth use on, as JDBC's prepareThreshold=5 does.
            builder.MaxAutoPrepare = 10;
            builder.AutoPrepareMinUsages = style == "auto" ? 1 : 5;
        }

        await Task.WhenAll(Enumerable.Range(0, 8).Select(client => Task.Run(async () =>
        {
            await using var connection = await Sql.OpenAsync(builder.ConnectionString, token);
            for (var n = 0; n < 15; n++)
            {
                await using var insert = new NpgsqlCommand("INSERT INTO tx_ps_small VALUES ($1, $2)", connection)
                {
                    Parameters = { new NpgsqlParameter<int> { TypedValue = client }, new NpgsqlParameter<int> { TypedValue = n } },
                };
                await using var sum = new NpgsqlCommand("SELECT $1::int + $2::int, $3::text", connection)
                {
                    Parameters = { new NpgsqlParameter<int> { TypedValue = client }, new NpgsqlParameter<int> { TypedValue = n }, new NpgsqlParameter<string> { TypedValue = style } },
                };
                if (style == "explicit")
                {
                    await insert.PrepareAsync(token);
                    await sum.PrepareAsync(token);
                }

                await using var transaction = n % 3 == 0 ? await connection.BeginTransactionAsync(token) : null;
                Assert.Equal(1, await insert.ExecuteNonQueryAsync(token));
                await using (var reader = await sum.ExecuteReaderAsync(token))
                {
                    Assert.True(await reader.ReadAsync(token));
                    Assert.Equal(client + n, reader.GetInt32(0));
                    Assert.Equal(style, reader.GetString(1));
                }

                if (transaction is not null)
                {
                    await transaction.CommitAsync(token);
                }
            }
        }, token)));
    }

    private Task<RunningProxy> StartAsync(int poolSize)
    {
        var config = fixture.CreateProxyConfig(PoolMode.Transaction, poolSize);
        return fixture.StartProxyOnThreadPoolAsync(config with { Pool = config.Pool with { PreparedStatements = true, CheckoutTimeout = TimeSpan.FromSeconds(60) } });
    }

    private static Task<RawClient> ConnectAsync(int port, CancellationToken token) =>
        RawClient.ConnectAsync(port, TestRoles.Trust.Name, null, PostgresFixture.Database, token);

    private static string Codes(IEnumerable<RawMessage> messages) => string.Concat(messages.Select(m => m.Code));
}
