using System.Text;
using Npgsql;
using Sluice.Integration.Tests.Fixtures;
using Sluice.Proxy.Configuration;

namespace Sluice.Integration.Tests.TransactionMode;

/// <summary>
/// SQL <c>DEALLOCATE name</c> of a statement the client prepared through the protocol (psycopg 3 evicting from its
/// cache): answered as PostgreSQL answers it, although servers know the statement only as a shared copy under another
/// name. Each reply sequence is compared with what PostgreSQL itself answers to the same messages.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class DeallocateTests(PostgresFixture fixture)
{
    [Fact]
    public async Task Deallocate_of_a_protocol_statement_is_answered_without_a_server_and_an_unknown_name_gets_postgres_own_26000()
    {
        await using var proxy = await StartAsync(poolSize: 1);
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;
        await using var client = await ConnectAsync(proxy.Port, token);
        await using var direct = await ConnectAsync(fixture.PrimaryPort, token);
        foreach (var c in new[] { client, direct })
        {
            c.Parse("_pg3_0", "SELECT $1::int * 2");
            c.Sync();
            Assert.Equal("1Z", Codes(await c.RoundTripAsync(token)));
        }

        // Another client holds the only server in a transaction: the DEALLOCATE needs none.
        // Same user, so same pool: the holder takes its only server into a transaction.
        await using var holder = await ConnectAsync(proxy.Port, token);
        holder.Query("BEGIN");
        Assert.Equal('T', (char)(await holder.RoundTripAsync(token))[^1].Payload[0]);

        client.Query("DEALLOCATE _pg3_0");
        var replies = await client.RoundTripAsync(token);
        Assert.Equal("CZ", Codes(replies));
        Assert.Equal("DEALLOCATE", Tag(replies[0]));
        Assert.Equal('I', (char)replies[1].Payload[0]);

        // Again: the name is gone, and the error is PostgreSQL's own, word for word.
        direct.Query("DEALLOCATE _pg3_0");
        await direct.RoundTripAsync(token);
        direct.Query("DEALLOCATE _pg3_0");
        var expected = Assert.Single(await direct.RoundTripAsync(token), m => m.Code == 'E').Fields();
        client.Query("DEALLOCATE PREPARE _pg3_0");
        replies = await client.RoundTripAsync(token);
        Assert.Equal("EZ", Codes(replies));
        var error = replies[0].Fields();
        Assert.Equal("26000", error['C']);
        Assert.Equal(expected['C'], error['C']);
        Assert.Equal(expected['M'], error['M']);

        holder.Query("COMMIT");
        await holder.RoundTripAsync(token);

        // Binding it fails as on PostgreSQL; the client goes on.
        client.Bind("", "_pg3_0", "1");
        client.Execute();
        client.Sync();
        Assert.Equal("26000", Assert.Single(await client.RoundTripAsync(token), m => m.Code == 'E').Fields()['C']);
        client.Query("SELECT 7");
        Assert.Equal("TDCZ", Codes(await client.RoundTripAsync(token)));
    }

    [Fact]
    public async Task Deallocate_inside_a_transaction_block_answers_in_order_and_keeps_the_block()
    {
        await using var proxy = await StartAsync(poolSize: 2);
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;
        await using var client = await ConnectAsync(proxy.Port, token);
        await using var direct = await ConnectAsync(fixture.PrimaryPort, token);
        var seen = new List<string>();
        foreach (var c in new[] { client, direct })
        {
            c.Parse("S_1", "SELECT $1::int + 1");
            c.Sync();
            await c.RoundTripAsync(token);
            var transcript = new StringBuilder();
            foreach (var sql in new[] { "BEGIN", "SELECT 1", "DEALLOCATE \"S_1\"", "SELECT 2", "COMMIT" })
            {
                c.Query(sql);
                transcript.Append(Transcript(await c.RoundTripAsync(token))).Append(" | ");
            }

            c.Bind("", "S_1", "1");
            c.Execute();
            c.Sync();
            transcript.Append(Transcript(await c.RoundTripAsync(token)));
            seen.Add(transcript.ToString());
        }

        Assert.Contains("C:DEALLOCATE Z:T", seen[1], StringComparison.Ordinal);
        Assert.True(seen[1] == seen[0], $"proxy:      {seen[0]}\npostgresql: {seen[1]}");
    }

    [Theory]
    [InlineData("SELECT 1; DEALLOCATE a; SELECT 2; DEALLOCATE PREPARE b")]
    [InlineData("DEALLOCATE a; DEALLOCATE b")]
    [InlineData("DEALLOCATE a; SELECT 1/0; DEALLOCATE b")]
    [InlineData("SELECT 1/0; DEALLOCATE a")]
    [InlineData("BEGIN; DEALLOCATE b; COMMIT")]
    public async Task Deallocate_in_a_multi_statement_query_replies_in_order_as_postgres_does(string sql)
    {
        await using var proxy = await StartAsync(poolSize: 1);
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;
        await using var client = await ConnectAsync(proxy.Port, token);
        await using var direct = await ConnectAsync(fixture.PrimaryPort, token);
        var seen = new List<string>();
        foreach (var c in new[] { client, direct })
        {
            c.Parse("a", "SELECT 'a'");
            c.Parse("b", "SELECT 'b'");
            c.Sync();
            Assert.Equal("11Z", Codes(await c.RoundTripAsync(token)));
            c.Query(sql);
            var transcript = Transcript(await c.RoundTripAsync(token));

            // Which names survived: a statement skipped after an error is still there.
            foreach (var name in new[] { "a", "b" })
            {
                c.Bind("", name);
                c.Execute();
                c.Sync();
                transcript += " | " + Transcript(await c.RoundTripAsync(token));
            }

            seen.Add(transcript);
        }

        Assert.True(seen[1] == seen[0], $"proxy:      {seen[0]}\npostgresql: {seen[1]}");
    }

    [Theory]
    [InlineData(false, "a")]
    [InlineData(true, "a")]
    [InlineData(false, "nosuch")]
    [InlineData(true, "nosuch")]
    public async Task Deallocate_through_the_extended_protocol_as_libpq_sends_it_replies_as_postgres_does(bool inBlock, string name)
    {
        await using var proxy = await StartAsync(poolSize: 1);
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;
        await using var client = await ConnectAsync(proxy.Port, token);
        await using var direct = await ConnectAsync(fixture.PrimaryPort, token);
        var seen = new List<string>();
        foreach (var c in new[] { client, direct })
        {
            c.Parse("a", "SELECT 'a'");
            c.Parse("a2", "SELECT 'a2'");
            c.Sync();
            await c.RoundTripAsync(token);
            var transcript = "";
            if (inBlock)
            {
                c.Query("BEGIN");
                transcript += Transcript(await c.RoundTripAsync(token)) + " | ";
            }

            // PQsendQueryParams (psycopg 3's DEALLOCATE), then the same in a pipeline with a statement behind it.
            c.Parse("", $"DEALLOCATE {name}");
            c.Bind("", "");
            c.Describe('P', "");
            c.Execute();
            c.Sync();
            transcript += Transcript(await c.RoundTripAsync(token)) + " | ";
            c.Parse("", "DEALLOCATE a2");
            c.Bind("", "");
            c.Execute();
            c.Parse("", "SELECT 'after'");
            c.Bind("", "");
            c.Execute();
            c.Sync();
            transcript += Transcript(await c.RoundTripAsync(token)) + " | ";
            if (inBlock)
            {
                c.Query("COMMIT");
                transcript += Transcript(await c.RoundTripAsync(token)) + " | ";
            }

            foreach (var statement in new[] { "a", "a2" })
            {
                c.Bind("", statement);
                c.Execute();
                c.Sync();
                transcript += Transcript(await c.RoundTripAsync(token)) + " | ";
            }

            seen.Add(transcript);
        }

        Assert.True(seen[1] == seen[0], $"proxy:      {seen[0]}\npostgresql: {seen[1]}");
    }

    [Fact]
    public async Task Deallocate_of_a_sql_prepared_name_still_reaches_its_server()
    {
        await using var proxy = await StartAsync(poolSize: 2);
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;
        await using var connection = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);
        await connection.ExecuteAsync("PREPARE sql_level AS SELECT 5", token);
        Assert.Equal(5, await connection.ScalarAsync<int>("EXECUTE sql_level", token));
        await connection.ExecuteAsync("DEALLOCATE sql_level", token);
        var gone = await Assert.ThrowsAsync<PostgresException>(() => connection.ScalarAsync<int>("EXECUTE sql_level", token));
        Assert.Equal("26000", gone.SqlState);
    }

    private Task<RunningProxy> StartAsync(int poolSize)
    {
        var config = fixture.CreateProxyConfig(PoolMode.Transaction, poolSize);
        return fixture.StartProxyOnThreadPoolAsync(config with { Pool = config.Pool with { PreparedStatements = true, CheckoutTimeout = TimeSpan.FromSeconds(60) } });
    }

    private static Task<RawClient> ConnectAsync(int port, CancellationToken token) =>
        RawClient.ConnectAsync(port, TestRoles.Trust.Name, null, PostgresFixture.Database, token);

    private static string Codes(IEnumerable<RawMessage> messages) => string.Concat(messages.Select(m => m.Code));

    private static string Tag(RawMessage message) => Encoding.UTF8.GetString(message.Payload).TrimEnd('\0');

    /// <summary>Codes with what matters for comparing with PostgreSQL: tags, SQLSTATEs, transaction status.</summary>
    private static string Transcript(IEnumerable<RawMessage> messages) => string.Join(' ', messages.Select(m => m.Code switch
    {
        'C' => "C:" + Tag(m),
        'E' => "E:" + m.Fields()['C'],
        'Z' => "Z:" + (char)m.Payload[0],
        _ => m.Code.ToString(),
    }));
}
