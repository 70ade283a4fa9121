using System.Collections.Concurrent;
using System.Data;
using System.Diagnostics;
using System.Globalization;
using Npgsql;
using NpgsqlTypes;
using Sluice.Integration.Tests.Fixtures;
using Sluice.Proxy.Configuration;

namespace Sluice.Integration.Tests.TransactionMode;

/// <summary>Many real clients share a small pool: each transaction gets one server, results stay right.</summary>
[Collection(PostgresCollection.Name)]
public sealed class LendingTests(PostgresFixture fixture)
{
    [Fact]
    public async Task Fifty_clients_over_a_pool_of_five_run_transactions_concurrently_with_correct_results()
    {
        var role = await Sql.CreateRoleAsync(fixture, "tx_lend_many");
        await CreateTableAsync("tx_lend_rows", "client int, n int, pid int");
        await fixture.Cluster.ExecuteAsync(fixture.PrimaryPort,
            "DROP TABLE IF EXISTS tx_lend_counter; CREATE TABLE tx_lend_counter (id int PRIMARY KEY, total bigint); INSERT INTO tx_lend_counter VALUES (1, 0);",
            PostgresFixture.Database);
        await using var proxy = await fixture.StartProxyOnThreadPoolAsync(fixture.CreateProxyConfig(PoolMode.Transaction, 5).WithUser(role));
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;
        var connections = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => Sql.OpenAsync(proxy.ConnectionString(role), token)));
        var serversSeen = new ConcurrentDictionary<int, byte>();
        try
        {
            await Task.WhenAll(connections.Select((connection, client) => Task.Run(async () =>
            {
                for (var n = 0; n < 10; n++)
                {
                    await using var transaction = await connection.BeginTransactionAsync(token);
                    var pid = await connection.ScalarAsync<int>("SELECT pg_backend_pid()", token);
                    await connection.ExecuteAsync($"INSERT INTO tx_lend_rows VALUES ({client}, {n}, pg_backend_pid())", token);
                    await connection.ExecuteAsync($"UPDATE tx_lend_counter SET total = total + {client} WHERE id = 1", token);
                    // The whole transaction runs on one server.
                    Assert.Equal(pid, await connection.ScalarAsync<int>("SELECT pg_backend_pid()", token));
                    Assert.Equal(n + 1, await connection.ScalarAsync<long>($"SELECT count(*) FROM tx_lend_rows WHERE client = {client}", token));
                    await transaction.CommitAsync(token);
                    serversSeen.TryAdd(pid, 0);
                }
            }, token)));

            Assert.Equal(500L, await connections[0].ScalarAsync<long>("SELECT count(*) FROM tx_lend_rows", token));
            Assert.Equal(10L * Enumerable.Range(0, 50).Sum(), await connections[0].ScalarAsync<long>("SELECT total FROM tx_lend_counter", token));
            Assert.InRange(serversSeen.Count, 1, 5);
            Assert.InRange(await Sql.CountBackendsAsync(fixture, role.Name), 1, 5);
        }
        finally
        {
            foreach (var connection in connections)
            {
                await connection.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Batches_of_several_commands_run_pipelined_as_one_implicit_transaction()
    {
        await CreateTableAsync("tx_lend_batch", "client int, n int");
        await using var proxy = await fixture.StartProxyOnThreadPoolAsync(fixture.CreateProxyConfig(PoolMode.Transaction, 3));
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;

        await Task.WhenAll(Enumerable.Range(0, 20).Select(client => Task.Run(async () =>
        {
            await using var connection = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);
            for (var n = 0; n < 10; n++)
            {
                await using var batch = new NpgsqlBatch(connection)
                {
                    BatchCommands =
                    {
                        new NpgsqlBatchCommand("INSERT INTO tx_lend_batch VALUES ($1, $2)") { Parameters = { new() { Value = client }, new() { Value = n } } },
                        new NpgsqlBatchCommand("SELECT count(*) FROM tx_lend_batch WHERE client = $1") { Parameters = { new() { Value = client } } },
                        new NpgsqlBatchCommand("SELECT pg_backend_pid()"),
                        new NpgsqlBatchCommand("SELECT pg_backend_pid()"),
                    },
                };
                await using var reader = await batch.ExecuteReaderAsync(token);
                Assert.True(await reader.ReadAsync(token));
                Assert.Equal(n + 1, reader.GetInt64(0));
                await reader.NextResultAsync(token);
                Assert.True(await reader.ReadAsync(token));
                var pid = reader.GetInt32(0);
                await reader.NextResultAsync(token);
                Assert.True(await reader.ReadAsync(token));
                Assert.Equal(pid, reader.GetInt32(0));
            }
        }, token)));

        await using var check = await Sql.OpenAsync(fixture.PrimaryConnectionString(), token);
        Assert.Equal(200L, await check.ScalarAsync<long>("SELECT count(*) FROM tx_lend_batch", token));
    }

    [Fact]
    public async Task A_failing_command_in_a_batch_rolls_the_whole_batch_back_and_the_connection_goes_on()
    {
        await CreateTableAsync("tx_lend_batch_error", "marker text");
        await using var proxy = await fixture.StartProxyOnThreadPoolAsync(fixture.CreateProxyConfig(PoolMode.Transaction, 1));
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;
        await using var connection = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);

        await using (var batch = new NpgsqlBatch(connection)
        {
            BatchCommands =
            {
                new NpgsqlBatchCommand("INSERT INTO tx_lend_batch_error VALUES ('before')"),
                new NpgsqlBatchCommand("SELECT 1 / 0"),
                new NpgsqlBatchCommand("INSERT INTO tx_lend_batch_error VALUES ('after')"),
            },
        })
        {
            var error = await Assert.ThrowsAsync<PostgresException>(() => batch.ExecuteNonQueryAsync(token));
            Assert.Equal(PostgresErrorCodes.DivisionByZero, error.SqlState);
        }

        Assert.Equal(ConnectionState.Open, connection.State);
        Assert.Equal(0L, await connection.ScalarAsync<long>("SELECT count(*) FROM tx_lend_batch_error", token));
        await using var other = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Md5), token);
        Assert.Equal(0L, await other.ScalarAsync<long>("SELECT count(*) FROM tx_lend_batch_error", token));
    }

    [Fact]
    public async Task Many_commands_in_flight_on_one_connection_each_get_their_own_answer()
    {
        await CreateTableAsync("tx_lend_inflight", "v int");
        await using var proxy = await fixture.StartProxyOnThreadPoolAsync(fixture.CreateProxyConfig(PoolMode.Transaction, 2));
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;
        // Multiplexing writes commands of many callers back to back on two physical connections, reading the answers as
        // they come: the proxy sees several Syncs in flight and must keep the server until the last is answered.
        var builder = new NpgsqlConnectionStringBuilder(proxy.ConnectionString(TestRoles.Scram, pooling: true))
        {
            Multiplexing = true,
            MaxPoolSize = 2,
        };
        await using var dataSource = NpgsqlDataSource.Create(builder.ConnectionString);

        var results = await Task.WhenAll(Enumerable.Range(0, 400).Select(async i =>
        {
            if (i % 10 == 0)
            {
                await using var insert = dataSource.CreateCommand("INSERT INTO tx_lend_inflight VALUES ($1)");
                insert.Parameters.Add(new NpgsqlParameter { Value = i });
                await insert.ExecuteNonQueryAsync(token);
            }

            await using var command = dataSource.CreateCommand("SELECT $1::int * 2, $2::text");
            command.Parameters.Add(new NpgsqlParameter { Value = i });
            command.Parameters.Add(new NpgsqlParameter { Value = "v" + i.ToString(CultureInfo.InvariantCulture) });
            await using var reader = await command.ExecuteReaderAsync(token);
            Assert.True(await reader.ReadAsync(token));
            return (i, Doubled: reader.GetInt32(0), Text: reader.GetString(1));
        }));

        Assert.All(results, r => Assert.Equal((r.i * 2, "v" + r.i.ToString(CultureInfo.InvariantCulture)), (r.Doubled, r.Text)));
        await using var check = await Sql.OpenAsync(fixture.PrimaryConnectionString(), token);
        Assert.Equal(40L, await check.ScalarAsync<long>("SELECT count(*) FROM tx_lend_inflight", token));
    }

    [Fact]
    public async Task Copy_in_and_out_work_in_transaction_mode_for_concurrent_clients()
    {
        await CreateTableAsync("tx_lend_copy", "client int, n int, label text");
        await using var proxy = await fixture.StartProxyOnThreadPoolAsync(fixture.CreateProxyConfig(PoolMode.Transaction, 2));
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;
        const int Rows = 5000;

        await Task.WhenAll(Enumerable.Range(0, 6).Select(client => Task.Run(async () =>
        {
            await using var connection = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);

            // COPY FROM STDIN on its own (its own transaction).
            await using (var importer = await connection.BeginBinaryImportAsync("COPY tx_lend_copy (client, n, label) FROM STDIN (FORMAT BINARY)", token))
            {
                for (var n = 0; n < Rows; n++)
                {
                    await importer.StartRowAsync(token);
                    await importer.WriteAsync(client, NpgsqlDbType.Integer, token);
                    await importer.WriteAsync(n, NpgsqlDbType.Integer, token);
                    await importer.WriteAsync($"row {n} of client {client}", NpgsqlDbType.Text, token);
                }

                Assert.Equal((ulong)Rows, await importer.CompleteAsync(token));
            }

            // COPY inside a transaction that is rolled back leaves nothing.
            await using (var transaction = await connection.BeginTransactionAsync(token))
            {
                await using (var writer = await connection.BeginTextImportAsync("COPY tx_lend_copy (client, n, label) FROM STDIN", token))
                {
                    await writer.WriteAsync($"{client}\t-1\trolled back\n");
                }

                Assert.Equal(Rows + 1L, await connection.ScalarAsync<long>($"SELECT count(*) FROM tx_lend_copy WHERE client = {client}", token));
                await transaction.RollbackAsync(token);
            }

            // COPY TO STDOUT streams back exactly this client's rows.
            var lines = 0;
            using (var reader = await connection.BeginTextExportAsync($"COPY (SELECT client, n, label FROM tx_lend_copy WHERE client = {client} ORDER BY n) TO STDOUT", token))
            {
                while (await reader.ReadLineAsync(token) is { } line)
                {
                    Assert.Equal($"{client}\t{lines}\trow {lines} of client {client}", line);
                    lines++;
                }
            }

            Assert.Equal(Rows, lines);

            // A COPY the client abandons (CopyFail) leaves the connection usable.
            var importer2 = await connection.BeginBinaryImportAsync("COPY tx_lend_copy (client, n, label) FROM STDIN (FORMAT BINARY)", token);
            await importer2.StartRowAsync(token);
            await importer2.WriteAsync(client, NpgsqlDbType.Integer, token);
            await importer2.WriteAsync(-2, NpgsqlDbType.Integer, token);
            await importer2.WriteAsync("abandoned", NpgsqlDbType.Text, token);
            await importer2.DisposeAsync();
            Assert.Equal((long)Rows, await connection.ScalarAsync<long>($"SELECT count(*) FROM tx_lend_copy WHERE client = {client}", token));
        }, token)));
    }

    [Fact]
    public async Task Notices_reach_the_client_that_raised_them_and_no_other()
    {
        await using var proxy = await fixture.StartProxyOnThreadPoolAsync(fixture.CreateProxyConfig(PoolMode.Transaction, 2));
        using var timeout = new CancellationTokenSource(Sql.TestTimeout);
        var token = timeout.Token;

        await Task.WhenAll(Enumerable.Range(0, 8).Select(client => Task.Run(async () =>
        {
            await using var connection = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);
            var notices = new ConcurrentQueue<string>();
            connection.Notice += (_, e) => notices.Enqueue(e.Notice.MessageText);
            for (var n = 0; n < 10; n++)
            {
                await connection.ExecuteAsync($"DO $$ BEGIN RAISE NOTICE 'client % notice %', {client}, {n}; END $$", token);
                await using var transaction = await connection.BeginTransactionAsync(token);
                await connection.ExecuteAsync($"DO $$ BEGIN RAISE WARNING 'client % warning %', {client}, {n}; END $$", token);
                await transaction.CommitAsync(token);
            }

            var expected = Enumerable.Range(0, 10).SelectMany(n => new[] { $"client {client} notice {n}", $"client {client} warning {n}" });
            Assert.Equal(expected, notices.ToArray());
        }, token)));
    }

    [Fact]
    public async Task Psql_multi_statement_simple_queries_run_as_one_unit()
    {
        await CreateTableAsync("tx_lend_psql", "id int");
        await using var proxy = await fixture.StartProxyOnThreadPoolAsync(fixture.CreateProxyConfig(PoolMode.Transaction, 2));
        var user = TestRoles.Scram;

        var runs = await Task.WhenAll(Enumerable.Range(1, 10).Select(id => fixture.RunPsqlAsync(proxy.Port,
            $"BEGIN; INSERT INTO tx_lend_psql VALUES ({id}); INSERT INTO tx_lend_psql VALUES ({id}); COMMIT; SELECT count(*) FROM tx_lend_psql WHERE id = {id}",
            user.Name, user.Password)));
        // psql 15 prints every statement's result, one per line.
        Assert.All(runs, run => Assert.Equal((0, "BEGIN\nINSERT 0 1\nINSERT 0 1\nCOMMIT\n2"), (run.ExitCode, run.StandardOutput.Trim())));

        // An implicit transaction of several statements fails as a whole.
        var failed = await fixture.RunPsqlAsync(proxy.Port, "INSERT INTO tx_lend_psql VALUES (99); SELECT 1 / 0; INSERT INTO tx_lend_psql VALUES (99)", user.Name, user.Password);
        Assert.NotEqual(0, failed.ExitCode);
        Assert.Contains("division by zero", failed.StandardError, StringComparison.Ordinal);

        // A session that ends inside a transaction block leaves nothing behind.
        var abandoned = await fixture.RunPsqlAsync(proxy.Port, "BEGIN; INSERT INTO tx_lend_psql VALUES (77); SELECT 'open'", user.Name, user.Password);
        Assert.Equal((0, "BEGIN\nINSERT 0 1\nopen"), (abandoned.ExitCode, abandoned.StandardOutput.Trim()));

        var after = await fixture.RunPsqlAsync(proxy.Port, "SELECT count(*) FROM tx_lend_psql WHERE id IN (77, 99); SELECT count(*) FROM tx_lend_psql", user.Name, user.Password);
        Assert.Equal((0, "0\n20"), (after.ExitCode, after.StandardOutput.Trim()));
        Assert.Equal(0L, await Sql.OnPrimaryAsync<long>(fixture, "SELECT count(*) FROM tx_lend_psql WHERE id IN (77, 99)"));
    }

    [Fact]
    public async Task A_large_result_read_slowly_streams_through_without_buffering_and_others_keep_working()
    {
        await using var proxy = await fixture.StartProxyOnThreadPoolAsync(fixture.CreateProxyConfig(PoolMode.Transaction, 2));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(180));
        var token = timeout.Token;
        const int Rows = 200_000;
        const int RowWidth = 1000; // ~200 MB of DataRows in all
        const long ResultBytes = (long)Rows * RowWidth;

        await using var reader1 = await Sql.OpenAsync(proxy.ConnectionString(TestRoles.Scram), token);
        var others = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Sql.OpenAsync(proxy.ConnectionString(TestRoles.Md5), token)));
        try
        {
            using var process = Process.GetCurrentProcess();
            var heapBefore = GC.GetTotalMemory(forceFullCollection: true);
            process.Refresh();
            var workingSetBefore = process.WorkingSet64;
            long heapPeak = 0;
            long workingSetPeak = 0;
            // Live bytes only (a full collection each time): uncollected garbage of the test's own reads once counted as
            // growth (80 MB, CI).
            void Sample()
            {
                heapPeak = Math.Max(heapPeak, GC.GetTotalMemory(forceFullCollection: true) - heapBefore);
                process.Refresh();
                workingSetPeak = Math.Max(workingSetPeak, process.WorkingSet64 - workingSetBefore);
            }

            await using var command = new NpgsqlCommand($"SELECT i, repeat('x', {RowWidth}) FROM generate_series(1, {Rows}) i", reader1);
            await using var reader = await command.ExecuteReaderAsync(CommandBehavior.SequentialAccess, token);
            var buffer = new char[RowWidth];
            long read = 0;
            long characters = 0;
            async Task ReadRowsAsync(int count)
            {
                for (var i = 0; i < count && await reader.ReadAsync(token); i++)
                {
                    Assert.Equal(++read, reader.GetInt32(0));
                    characters += reader.GetChars(1, 0, buffer, 0, buffer.Length);
                }
            }

            await ReadRowsAsync(1000);

            // The reader stalls: PostgreSQL would send the rest at once if the proxy read ahead without limit. Meanwhile
            // the other clients are served by the other server.
            var stall = Stopwatch.StartNew();
            await Task.WhenAll(others.Select((connection, client) => Task.Run(async () =>
            {
                for (var n = 0; n < 20; n++)
                {
                    await using var transaction = await connection.BeginTransactionAsync(token);
                    Assert.Equal(client + n, await connection.ScalarAsync<int>($"SELECT {client} + {n}", token));
                    await transaction.CommitAsync(token);
                }
            }, token)));
            var remainingStall = TimeSpan.FromSeconds(3) - stall.Elapsed;
            if (remainingStall > TimeSpan.Zero)
            {
                await Task.Delay(remainingStall, token);
            }

            Sample();

            // Then it reads on, slowly.
            while (read < Rows)
            {
                await ReadRowsAsync(20_000);
                Sample();
                await Task.Delay(50, token);
            }

            Assert.False(await reader.ReadAsync(token));
            Assert.Equal((Rows, ResultBytes), (read, characters));
            Assert.True(heapPeak < ResultBytes / 4, $"managed heap grew by {heapPeak / 1e6:0.0} MB while a {ResultBytes / 1e6:0} MB result streamed");
            Assert.True(workingSetPeak < ResultBytes / 2, $"working set grew by {workingSetPeak / 1e6:0.0} MB while a {ResultBytes / 1e6:0} MB result streamed");
        }
        finally
        {
            foreach (var connection in others)
            {
                await connection.DisposeAsync();
            }
        }
    }

    private Task<string> CreateTableAsync(string name, string columns) =>
        fixture.Cluster.ExecuteAsync(fixture.PrimaryPort, $"DROP TABLE IF EXISTS {name}; CREATE TABLE {name} ({columns});", PostgresFixture.Database);
}
