using System.Collections.Concurrent;
using Npgsql;
using Sluice.Integration.Tests.Fixtures;
using Sluice.Proxy.Configuration;

namespace Sluice.Integration.Tests.TransactionMode;

/// <summary>
/// Protocol-level prepared statements (pool.prepared_statements = true) keep working while each transaction may run on
/// another server: the driver never notices that its statements are shared server-side copies.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PreparedStatementTests(PostgresFixture fixture)
{
    [Fact]
    public async Task Explicitly_prepared_commands_are_reused_across_transactions_on_different_servers()
    {
        await CreateTableAsync("tx_ps_rows", "client int, n int");
        await using var proxy = await StartAsync(poolSize: 2);
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;
        var serversPerClient = new ConcurrentDictionary<int, HashSet<int>>();

        await Task.WhenAll(Enumerable.Range(0, 10).Select(client => Task.Run(async () =>
        {
            await using var connection = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);
            await using var select = new NpgsqlCommand("SELECT $1::int + 1, pg_backend_pid()", connection) { Parameters = { new NpgsqlParameter<int> { TypedValue = 0 } } };
            await using var insert = new NpgsqlCommand("INSERT INTO tx_ps_rows VALUES ($1, $2)", connection)
            {
                Parameters = { new NpgsqlParameter<int> { TypedValue = client }, new NpgsqlParameter<int> { TypedValue = 0 } },
            };
            await select.PrepareAsync(token);
            await insert.PrepareAsync(token);
            var servers = serversPerClient.GetOrAdd(client, _ => []);
            for (var n = 0; n < 30; n++)
            {
                await using var transaction = n % 2 == 0 ? await connection.BeginTransactionAsync(token) : null;
                ((NpgsqlParameter<int>)select.Parameters[0]).TypedValue = n;
                await using (var reader = await select.ExecuteReaderAsync(token))
                {
                    Assert.True(await reader.ReadAsync(token));
                    Assert.Equal(n + 1, reader.GetInt32(0));
                    servers.Add(reader.GetInt32(1));
                }

                ((NpgsqlParameter<int>)insert.Parameters[1]).TypedValue = n;
                Assert.Equal(1, await insert.ExecuteNonQueryAsync(token));
                if (transaction is not null)
                {
                    await transaction.CommitAsync(token);
                }

                Assert.True(select.IsPrepared && insert.IsPrepared);
            }
        }, token)));

        Assert.Equal(2, serversPerClient.Values.SelectMany(s => s).Distinct().Count());
        Assert.Contains(serversPerClient.Values, servers => servers.Count == 2);
        Assert.Equal(300L, await Sql.OnPrimaryAsync<long>(fixture, "SELECT count(*) FROM tx_ps_rows"));
        Assert.Equal(10L * Enumerable.Range(0, 30).Sum(), await Sql.OnPrimaryAsync<long>(fixture, "SELECT sum(n) FROM tx_ps_rows"));
    }

    [Fact]
    public async Task Deallocate_of_a_sql_prepared_statement_leaves_protocol_level_statements_prepared()
    {
        await using var proxy = await fixture.StartProxyOnThreadPoolAsync(fixture.CreateProxyConfig(PoolMode.Transaction, 1));
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;
        await using var connection = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);
        await using var select = new NpgsqlCommand("SELECT $1::int + 1", connection);
        select.Parameters.Add(new NpgsqlParameter<int> { TypedValue = 1 });
        await select.PrepareAsync(token);
        Assert.Equal(2, await select.ExecuteScalarAsync(token));

        await connection.ExecuteAsync("PREPARE tx_sql_prepared AS SELECT 1", token);
        await connection.ExecuteAsync("DEALLOCATE tx_sql_prepared", token);

        // The Bind names the shared copy the proxy prepared; DEALLOCATE of the SQL statement must not have dropped it.
        select.Parameters[0].Value = 41;
        Assert.True(select.IsPrepared);
        Assert.Equal(42, await select.ExecuteScalarAsync(token));
        Assert.Equal(1, await connection.ScalarAsync<int>("SELECT 1", token));
    }

    [Fact]
    public async Task Npgsql_auto_prepare_works_through_the_pool()
    {
        await using var proxy = await StartAsync(poolSize: 2);
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;
        var connectionString = new NpgsqlConnectionStringBuilder(proxy.ConnectionString(TestRoles.Scram))
        {
            MaxAutoPrepare = 10,
            AutoPrepareMinUsages = 2,
        }.ConnectionString;

        await Task.WhenAll(Enumerable.Range(0, 10).Select(client => Task.Run(async () =>
        {
            await using var connection = await Sql.OpenAsync(connectionString, token);
            for (var n = 0; n < 40; n++)
            {
                await using var transaction = n % 3 == 0 ? await connection.BeginTransactionAsync(token) : null;
                await using (var command = new NpgsqlCommand("SELECT $1::int * $2::int", connection) { Parameters = { new() { Value = client }, new() { Value = n } } })
                {
                    Assert.Equal(client * n, (int)(await command.ExecuteScalarAsync(token))!);
                }

                await using (var command = new NpgsqlCommand("SELECT length($1::text), upper($1::text)", connection) { Parameters = { new() { Value = $"c{client}n{n}" } } })
                await using (var reader = await command.ExecuteReaderAsync(token))
                {
                    Assert.True(await reader.ReadAsync(token));
                    Assert.Equal($"C{client}N{n}", reader.GetString(1));
                }

                await using (var command = new NpgsqlCommand("SELECT count(*) FROM generate_series(1, $1::int)", connection) { Parameters = { new() { Value = n } } })
                {
                    Assert.Equal((long)n, (long)(await command.ExecuteScalarAsync(token))!);
                }

                if (transaction is not null)
                {
                    await transaction.CommitAsync(token);
                }
            }
        }, token)));
    }

    [Fact]
    public async Task Prepared_batches_pipeline_parse_bind_execute_across_transactions()
    {
        await CreateTableAsync("tx_ps_batch", "client int, n int");
        await using var proxy = await StartAsync(poolSize: 2);
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;

        await Task.WhenAll(Enumerable.Range(0, 6).Select(client => Task.Run(async () =>
        {
            await using var connection = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);
            await using var batch = new NpgsqlBatch(connection)
            {
                BatchCommands =
                {
                    new NpgsqlBatchCommand("INSERT INTO tx_ps_batch VALUES ($1, $2)") { Parameters = { new NpgsqlParameter<int> { TypedValue = client }, new NpgsqlParameter<int>() } },
                    new NpgsqlBatchCommand("SELECT count(*) FROM tx_ps_batch WHERE client = $1") { Parameters = { new NpgsqlParameter<int> { TypedValue = client } } },
                    new NpgsqlBatchCommand("SELECT $1::text || '!'") { Parameters = { new NpgsqlParameter<string> { TypedValue = "" } } },
                },
            };
            await batch.PrepareAsync(token);
            for (var n = 0; n < 20; n++)
            {
                ((NpgsqlParameter<int>)batch.BatchCommands[0].Parameters[1]).TypedValue = n;
                ((NpgsqlParameter<string>)batch.BatchCommands[2].Parameters[0]).TypedValue = $"client {client} round {n}";
                await using var transaction = n % 2 == 1 ? await connection.BeginTransactionAsync(token) : null;
                await using (var reader = await batch.ExecuteReaderAsync(token))
                {
                    Assert.True(await reader.ReadAsync(token));
                    Assert.Equal(n + 1L, reader.GetInt64(0));
                    Assert.True(await reader.NextResultAsync(token));
                    Assert.True(await reader.ReadAsync(token));
                    Assert.Equal($"client {client} round {n}!", reader.GetString(0));
                }

                if (transaction is not null)
                {
                    await transaction.CommitAsync(token);
                }
            }
        }, token)));

        Assert.Equal(120L, await Sql.OnPrimaryAsync<long>(fixture, "SELECT count(*) FROM tx_ps_batch"));
    }

    [Fact]
    public async Task An_error_inside_a_prepared_statement_leaves_it_usable_and_never_names_the_shared_copy()
    {
        await using var proxy = await StartAsync(poolSize: 2);
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;

        await Task.WhenAll(Enumerable.Range(0, 4).Select(client => Task.Run(async () =>
        {
            await using var connection = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);
            await using var divide = new NpgsqlCommand("SELECT 100 / $1::int", connection) { Parameters = { new NpgsqlParameter<int> { TypedValue = 1 } } };
            await divide.PrepareAsync(token);
            for (var n = 0; n < 10; n++)
            {
                ((NpgsqlParameter<int>)divide.Parameters[0]).TypedValue = 0;
                var error = await Assert.ThrowsAsync<PostgresException>(() => divide.ExecuteScalarAsync(token));
                Assert.Equal(PostgresErrorCodes.DivisionByZero, error.SqlState);
                AssertNoInternalName(error);

                ((NpgsqlParameter<int>)divide.Parameters[0]).TypedValue = 4;
                Assert.Equal(25, (int)(await divide.ExecuteScalarAsync(token))!);

                await using var transaction = await connection.BeginTransactionAsync(token);
                ((NpgsqlParameter<int>)divide.Parameters[0]).TypedValue = 0;
                error = await Assert.ThrowsAsync<PostgresException>(() => divide.ExecuteScalarAsync(token));
                AssertNoInternalName(error);
                await transaction.RollbackAsync(token);
                ((NpgsqlParameter<int>)divide.Parameters[0]).TypedValue = 5;
                Assert.Equal(20, (int)(await divide.ExecuteScalarAsync(token))!);
                Assert.True(divide.IsPrepared);
            }
        }, token)));
    }

    [Fact]
    public async Task After_ddl_preparing_the_same_text_again_gets_the_new_shape()
    {
        await CreateTableAsync("tx_ps_ddl", "a int");
        await fixture.Cluster.ExecuteAsync(fixture.PrimaryPort, "INSERT INTO tx_ps_ddl VALUES (1);", PostgresFixture.Database);
        await using var proxy = await StartAsync(poolSize: 1);
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;
        await using var a = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);
        await using var select = new NpgsqlCommand("SELECT * FROM tx_ps_ddl", a);
        await select.PrepareAsync(token);
        await using (var reader = await select.ExecuteReaderAsync(token))
        {
            Assert.Equal(1, reader.FieldCount);
        }

        await fixture.Cluster.ExecuteAsync(fixture.PrimaryPort, "ALTER TABLE tx_ps_ddl ADD COLUMN b int DEFAULT 7;", PostgresFixture.Database);

        // As with PostgreSQL alone: the old statement cannot change its result type...
        var stale = await Assert.ThrowsAsync<PostgresException>(() => select.ExecuteReaderAsync(token));
        Assert.Equal(PostgresErrorCodes.FeatureNotSupported, stale.SqlState);
        AssertNoInternalName(stale);

        // ...and preparing it again gives the new shape, for this client and for a new one.
        await select.UnprepareAsync(token);
        await select.PrepareAsync(token);
        await using (var reader = await select.ExecuteReaderAsync(token))
        {
            Assert.Equal(2, reader.FieldCount);
            Assert.True(await reader.ReadAsync(token));
            Assert.Equal(7, reader.GetInt32(1));
        }

        await using var b = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);
        await using var fresh = new NpgsqlCommand("SELECT * FROM tx_ps_ddl", b);
        await fresh.PrepareAsync(token);
        await using (var reader = await fresh.ExecuteReaderAsync(token))
        {
            Assert.Equal(2, reader.FieldCount);
        }
    }

    [Fact]
    public async Task After_ddl_that_keeps_the_shape_prepared_statements_go_on()
    {
        await CreateTableAsync("tx_ps_ddl2", "a int, b text");
        await fixture.Cluster.ExecuteAsync(fixture.PrimaryPort, "INSERT INTO tx_ps_ddl2 VALUES (1, 'x');", PostgresFixture.Database);
        await using var proxy = await StartAsync(poolSize: 1);
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;
        await using var connection = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);
        await using var select = new NpgsqlCommand("SELECT a, b FROM tx_ps_ddl2 WHERE a = $1", connection) { Parameters = { new NpgsqlParameter<int> { TypedValue = 1 } } };
        await select.PrepareAsync(token);
        Assert.Equal(1, (int)(await select.ExecuteScalarAsync(token))!);

        await fixture.Cluster.ExecuteAsync(fixture.PrimaryPort, "CREATE INDEX tx_ps_ddl2_a ON tx_ps_ddl2 (a); ALTER TABLE tx_ps_ddl2 ADD COLUMN c int;", PostgresFixture.Database);
        Assert.Equal(1, (int)(await select.ExecuteScalarAsync(token))!);
    }

    [Theory]
    [InlineData("DISCARD ALL")]
    [InlineData("DEALLOCATE ALL")]
    public async Task After_discard_or_deallocate_all_statements_can_be_prepared_again_and_others_keep_theirs(string reset)
    {
        await using var proxy = await StartAsync(poolSize: 1);
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;
        await using var a = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);
        await using var b = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);
        const string Text = "SELECT $1::int + 100";
        await using var aCommand = new NpgsqlCommand(Text, a) { Parameters = { new NpgsqlParameter<int> { TypedValue = 1 } } };
        await using var bCommand = new NpgsqlCommand(Text, b) { Parameters = { new NpgsqlParameter<int> { TypedValue = 2 } } };
        await aCommand.PrepareAsync(token);
        await bCommand.PrepareAsync(token);
        Assert.Equal(101, (int)(await aCommand.ExecuteScalarAsync(token))!);
        Assert.Equal(102, (int)(await bCommand.ExecuteScalarAsync(token))!);

        // Both share the one server; a's reset drops every statement on it, b's included.
        await a.ExecuteAsync(reset, token);
        a.UnprepareAll();

        Assert.Equal(102, (int)(await bCommand.ExecuteScalarAsync(token))!);
        await aCommand.PrepareAsync(token);
        Assert.Equal(101, (int)(await aCommand.ExecuteScalarAsync(token))!);
        await using var other = new NpgsqlCommand("SELECT $1::text || 'x'", a) { Parameters = { new NpgsqlParameter<string> { TypedValue = "y" } } };
        await other.PrepareAsync(token);
        Assert.Equal("yx", (string)(await other.ExecuteScalarAsync(token))!);
        Assert.Equal(102, (int)(await bCommand.ExecuteScalarAsync(token))!);
    }

    [Fact]
    public async Task Protocol_errors_about_a_named_statement_name_the_clients_statement_not_the_shared_copy()
    {
        await using var proxy = await StartAsync(poolSize: 1);
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;
        await using var client = await RawClient.ConnectAsync(proxy.Port, TestRoles.Trust.Name, null, PostgresFixture.Database, token);

        client.Parse("mine", "SELECT $1::int + $2::int");
        client.Sync();
        Assert.Equal(['1', 'Z'], (await client.RoundTripAsync(token)).Select(m => m.Code));

        // One parameter where two are needed: PostgreSQL names the statement in its error.
        client.Bind("", "mine", "1");
        client.Execute();
        client.Sync();
        var replies = await client.RoundTripAsync(token);
        var error = Assert.Single(replies, m => m.Code == 'E').Fields();
        Assert.Equal("08P01", error['C']);
        Assert.DoesNotContain("sluice_", error['M'], StringComparison.Ordinal);

        client.Bind("", "mine", "1", "2");
        client.Execute();
        client.Sync();
        replies = await client.RoundTripAsync(token);
        Assert.Equal("3", System.Text.Encoding.UTF8.GetString(replies.Single(m => m.Code == 'D').Payload[6..]));
    }

    [Fact]
    public async Task Binding_a_statement_the_client_never_prepared_fails_with_26000_naming_it_and_the_client_goes_on()
    {
        await using var proxy = await StartAsync(poolSize: 1);
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;
        await using var client = await RawClient.ConnectAsync(proxy.Port, TestRoles.Trust.Name, null, PostgresFixture.Database, token);

        client.Bind("", "never_prepared");
        client.Execute();
        client.Sync();
        var error = Assert.Single(await client.RoundTripAsync(token), m => m.Code == 'E').Fields();
        Assert.Equal("26000", error['C']);
        Assert.Contains("never_prepared", error['M'], StringComparison.Ordinal);

        client.Parse("mine", "SELECT $1::int * 3");
        client.Bind("", "mine", "5");
        client.Execute();
        client.Close('S', "mine");
        client.Sync();
        var replies = await client.RoundTripAsync(token);
        Assert.Equal(['1', '2', 'D', 'C', '3', 'Z'], replies.Select(m => m.Code));
        Assert.Equal("15", System.Text.Encoding.UTF8.GetString(replies.Single(m => m.Code == 'D').Payload[6..]));

        // Closed: binding it again fails as it would on PostgreSQL.
        client.Bind("", "mine", "5");
        client.Execute();
        client.Sync();
        Assert.Equal("26000", Assert.Single(await client.RoundTripAsync(token), m => m.Code == 'E').Fields()['C']);
    }

    [Fact]
    public async Task A_reload_that_turns_prepared_statements_off_leaves_connected_clients_statements_working()
    {
        await using var proxy = await StartAsync(poolSize: 2);
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;
        await using var connection = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);
        await using var select = new NpgsqlCommand("SELECT $1::int * 2", connection) { Parameters = { new NpgsqlParameter<int> { TypedValue = 1 } } };
        await select.PrepareAsync(token);

        await using (var transaction = await connection.BeginTransactionAsync(token))
        {
            Assert.Equal(2, await select.ExecuteScalarAsync(token));

            // In the middle of the transaction: the statement was prepared renamed, and its Binds stay renamed.
            proxy.Server.Reload(proxy.Config with { Pool = proxy.Config.Pool with { PreparedStatements = false } });
            ((NpgsqlParameter<int>)select.Parameters[0]).TypedValue = 2;
            Assert.Equal(4, await select.ExecuteScalarAsync(token));
            await transaction.CommitAsync(token);
        }

        // The next transactions too: the setting is the session's, taken at login.
        for (var n = 3; n < 6; n++)
        {
            ((NpgsqlParameter<int>)select.Parameters[0]).TypedValue = n;
            Assert.Equal(n * 2, await select.ExecuteScalarAsync(token));
        }

        // A client that logs in after the reload gets the new rule (its statement goes to the server under its own name).
        await using var later = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);
        await using var own = new NpgsqlCommand("SELECT 7", later);
        await own.PrepareAsync(token);
        Assert.Equal(7, await own.ExecuteScalarAsync(token));
    }

    private Task<RunningProxy> StartAsync(int poolSize)
    {
        var config = fixture.CreateProxyConfig(PoolMode.Transaction, poolSize);
        return fixture.StartProxyOnThreadPoolAsync(config with { Pool = config.Pool with { PreparedStatements = true } });
    }

    private static void AssertNoInternalName(PostgresException error)
    {
        foreach (var text in new[] { error.MessageText, error.Detail, error.Hint, error.Where, error.InternalQuery })
        {
            Assert.DoesNotContain("sluice_", text ?? "", StringComparison.Ordinal);
        }
    }

    private Task<string> CreateTableAsync(string name, string columns) =>
        fixture.Cluster.ExecuteAsync(fixture.PrimaryPort, $"DROP TABLE IF EXISTS {name}; CREATE TABLE {name} ({columns});", PostgresFixture.Database);
}
