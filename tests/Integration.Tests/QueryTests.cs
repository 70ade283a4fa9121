using Npgsql;
using NpgsqlTypes;
using Sluice.Integration.Tests.Fixtures;
using Sluice.Integration.Tests.Support;
using Sluice.Proxy.Configuration;

namespace Sluice.Integration.Tests;

/// <summary>Everyday queries through Sluice, in both pool modes, as Npgsql and psql see them.</summary>
[Collection(PostgresCollection.Name)]
public sealed class QueryTests(PostgresFixture fixture)
{
    [Theory]
    [InlineData(PoolMode.Session)]
    [InlineData(PoolMode.Transaction)]
    public async Task Simple_select_returns_rows(PoolMode mode)
    {
        await using var proxy = await TestSetup.StartProxyAsync(fixture, mode);
        await using var connection = await Db.OpenAsync(proxy.ConnectionString(TestRoles.Scram));

        var rows = new List<(int, string)>();
        await using (var command = new NpgsqlCommand("SELECT n, 'row ' || n FROM generate_series(1, 3) AS n ORDER BY n", connection))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                rows.Add((reader.GetInt32(0), reader.GetString(1)));
            }
        }

        Assert.Equal([(1, "row 1"), (2, "row 2"), (3, "row 3")], rows);
        Assert.Equal(TestRoles.Scram.Name, await Db.ScalarAsync<string>(connection, "SELECT current_user"));
    }

    [Theory]
    [InlineData(PoolMode.Session)]
    [InlineData(PoolMode.Transaction)]
    public async Task Parameterized_queries_bind_their_values(PoolMode mode)
    {
        await using var proxy = await TestSetup.StartProxyAsync(fixture, mode);
        await using var connection = await Db.OpenAsync(proxy.ConnectionString(TestRoles.Scram));

        await using var positional = new NpgsqlCommand("SELECT $1::int + $2::int, $3::text || '!', $4::bytea", connection)
        {
            Parameters =
            {
                new() { Value = 40 },
                new() { Value = 2 },
                new() { Value = "it's \"quoted\" — ünïcode" },
                new() { Value = new byte[] { 0, 1, 2, 255 } },
            },
        };
        await using (var reader = await positional.ExecuteReaderAsync())
        {
            Assert.True(await reader.ReadAsync());
            Assert.Equal(42, reader.GetInt32(0));
            Assert.Equal("it's \"quoted\" — ünïcode!", reader.GetString(1));
            Assert.Equal(new byte[] { 0, 1, 2, 255 }, reader.GetFieldValue<byte[]>(2));
        }

        // The same statement again and again with other values (Npgsql reuses what it prepared), and a NULL.
        await using var named = new NpgsqlCommand("SELECT coalesce(@value, -1) * 2", connection);
        var parameter = named.Parameters.Add("value", NpgsqlDbType.Integer);
        for (var i = 0; i < 5; i++)
        {
            parameter.Value = i;
            Assert.Equal(i * 2, await named.ExecuteScalarAsync());
        }

        parameter.Value = DBNull.Value;
        Assert.Equal(-2, await named.ExecuteScalarAsync());
    }

    [Theory]
    [InlineData(PoolMode.Session)]
    [InlineData(PoolMode.Transaction)]
    public async Task One_command_with_several_statements_returns_every_result_set(PoolMode mode)
    {
        await using var proxy = await TestSetup.StartProxyAsync(fixture, mode);
        await using var connection = await Db.OpenAsync(proxy.ConnectionString(TestRoles.Scram));

        await using var command = new NpgsqlCommand("SELECT 1; SELECT 'two', 2; SELECT n FROM generate_series(1, 3) AS n", connection);
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal(1, reader.GetInt32(0));
        Assert.False(await reader.ReadAsync());

        Assert.True(await reader.NextResultAsync());
        Assert.True(await reader.ReadAsync());
        Assert.Equal(("two", 2), (reader.GetString(0), reader.GetInt32(1)));

        Assert.True(await reader.NextResultAsync());
        var third = new List<int>();
        while (await reader.ReadAsync())
        {
            third.Add(reader.GetInt32(0));
        }

        Assert.Equal([1, 2, 3], third);
        Assert.False(await reader.NextResultAsync());
    }

    [Theory]
    [InlineData(PoolMode.Session)]
    [InlineData(PoolMode.Transaction)]
    public async Task A_batch_of_commands_runs_in_one_round_trip(PoolMode mode)
    {
        var table = Db.UniqueName("batch");
        await using var proxy = await TestSetup.StartProxyAsync(fixture, mode);
        await using var connection = await Db.OpenAsync(proxy.ConnectionString(TestRoles.Scram));

        await using var batch = new NpgsqlBatch(connection)
        {
            BatchCommands =
            {
                new($"CREATE TABLE {table} (id int PRIMARY KEY, name text)"),
                new($"INSERT INTO {table} VALUES ($1, $2)") { Parameters = { new() { Value = 1 }, new() { Value = "one" } } },
                new($"INSERT INTO {table} VALUES ($1, $2)") { Parameters = { new() { Value = 2 }, new() { Value = "two" } } },
                new($"SELECT string_agg(name, ',' ORDER BY id) FROM {table}"),
            },
        };
        Assert.Equal("one,two", await batch.ExecuteScalarAsync());
        Assert.Equal(1, batch.BatchCommands[1].RecordsAffected);
        Assert.Equal(2L, await Db.PrimaryScalarAsync<long>(fixture, $"SELECT count(*) FROM {table}"));
    }

    [Theory]
    [InlineData(PoolMode.Session)]
    [InlineData(PoolMode.Transaction)]
    public async Task Psql_runs_a_multi_statement_simple_query(PoolMode mode)
    {
        var table = Db.UniqueName("psql_multi");
        await using var proxy = await TestSetup.StartProxyAsync(fixture, mode);

        var result = await fixture.RunPsqlAsync(
            proxy.Port,
            $"CREATE TABLE {table} (id int); INSERT INTO {table} SELECT generate_series(1, 10); UPDATE {table} SET id = id * 10 WHERE id <= 5; SELECT sum(id) FROM {table}",
            TestRoles.Scram.Name,
            TestRoles.Scram.Password);

        Assert.True(result.Succeeded, result.StandardError);
        // psql 15 prints every statement's result; the sum is 10+20+30+40+50 + 6+7+8+9+10.
        Assert.Equal("CREATE TABLE\nINSERT 0 10\nUPDATE 5\n190", result.StandardOutput.Trim());
        Assert.Equal(10L, await Db.PrimaryScalarAsync<long>(fixture, $"SELECT count(*) FROM {table}"));
    }

    [Theory]
    [InlineData(PoolMode.Session)]
    [InlineData(PoolMode.Transaction)]
    public async Task Committed_rows_stay_and_rolled_back_rows_go(PoolMode mode)
    {
        var table = Db.UniqueName("tx");
        await Db.PrimaryExecuteAsync(fixture, $"CREATE TABLE {table} (id int PRIMARY KEY, note text)");
        await using var proxy = await TestSetup.StartProxyAsync(fixture, mode);
        await using var connection = await Db.OpenAsync(proxy.ConnectionString(TestRoles.Scram));

        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await Db.ExecuteAsync(connection, $"INSERT INTO {table} VALUES (1, 'committed'), (2, 'committed')");
            Assert.Equal(2L, await Db.ScalarAsync<long>(connection, $"SELECT count(*) FROM {table}"));
            Assert.Equal(0L, await Db.PrimaryScalarAsync<long>(fixture, $"SELECT count(*) FROM {table}"));
            await transaction.CommitAsync();
        }

        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await Db.ExecuteAsync(connection, $"INSERT INTO {table} VALUES (3, 'rolled back')");
            await Db.ExecuteAsync(connection, $"UPDATE {table} SET note = 'changed'");
            await transaction.RollbackAsync();
        }

        // SQL-level BEGIN/COMMIT over the simple protocol as well.
        var psql = await fixture.RunPsqlAsync(proxy.Port, $"BEGIN; INSERT INTO {table} VALUES (4, 'psql'); COMMIT; BEGIN; DELETE FROM {table}; ROLLBACK;", TestRoles.Scram.Name, TestRoles.Scram.Password);
        Assert.True(psql.Succeeded, psql.StandardError);

        var rows = $"SELECT string_agg(id || ':' || note, ',' ORDER BY id) FROM {table}";
        Assert.Equal("1:committed,2:committed,4:psql", await Db.PrimaryScalarAsync<string>(fixture, rows));
        Assert.Equal("1:committed,2:committed,4:psql", await Db.ScalarAsync<string>(connection, rows));
    }

    [Theory]
    [InlineData(PoolMode.Session)]
    [InlineData(PoolMode.Transaction)]
    public async Task Errors_carry_their_sqlstate_and_the_connection_stays_usable(PoolMode mode)
    {
        var table = Db.UniqueName("errors");
        await Db.PrimaryExecuteAsync(fixture, $"CREATE TABLE {table} (id int PRIMARY KEY); INSERT INTO {table} VALUES (1)");
        await using var proxy = await TestSetup.StartProxyAsync(fixture, mode);
        await using var connection = await Db.OpenAsync(proxy.ConnectionString(TestRoles.Scram));

        var undefined = await Assert.ThrowsAsync<PostgresException>(() => Db.ScalarAsync<int>(connection, "SELECT * FROM no_such_table_anywhere"));
        Assert.Equal(PostgresErrorCodes.UndefinedTable, undefined.SqlState);
        Assert.Contains("no_such_table_anywhere", undefined.MessageText, StringComparison.Ordinal);
        Assert.Equal(1, await Db.ScalarAsync<int>(connection, "SELECT 1"));

        var division = await Assert.ThrowsAsync<PostgresException>(() => Db.ScalarAsync<int>(connection, "SELECT 1 / 0"));
        Assert.Equal(PostgresErrorCodes.DivisionByZero, division.SqlState);
        Assert.Equal(2, await Db.ScalarAsync<int>(connection, "SELECT 2"));

        var duplicate = await Assert.ThrowsAsync<PostgresException>(() => Db.ExecuteAsync(connection, $"INSERT INTO {table} VALUES (1)"));
        Assert.Equal(PostgresErrorCodes.UniqueViolation, duplicate.SqlState);
        Assert.Equal(table, duplicate.TableName);

        // An error inside a transaction aborts it until ROLLBACK, then all is well again.
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await Db.ExecuteAsync(connection, $"INSERT INTO {table} VALUES (2)");
            await Assert.ThrowsAsync<PostgresException>(() => Db.ScalarAsync<int>(connection, "SELECT 1 / 0"));
            var aborted = await Assert.ThrowsAsync<PostgresException>(() => Db.ScalarAsync<int>(connection, "SELECT 3"));
            Assert.Equal(PostgresErrorCodes.InFailedSqlTransaction, aborted.SqlState);
            await transaction.RollbackAsync();
        }

        // A failing statement in the middle of a pipelined batch: the ones after it are skipped, the connection lives.
        await using var batch = new NpgsqlBatch(connection)
        {
            BatchCommands = { new($"INSERT INTO {table} VALUES (5)"), new("SELECT 1 / 0"), new($"INSERT INTO {table} VALUES (6)") },
        };
        var batchError = await Assert.ThrowsAsync<PostgresException>(() => batch.ExecuteNonQueryAsync());
        Assert.Equal(PostgresErrorCodes.DivisionByZero, batchError.SqlState);

        Assert.Equal(4, await Db.ScalarAsync<int>(connection, "SELECT 4"));
        Assert.Equal("1", await Db.PrimaryScalarAsync<string>(fixture, $"SELECT string_agg(id::text, ',' ORDER BY id) FROM {table}"));

        var psql = await fixture.RunPsqlAsync(proxy.Port, "SELECT 1 / 0", TestRoles.Scram.Name, TestRoles.Scram.Password);
        Assert.NotEqual(0, psql.ExitCode);
        Assert.Contains("division by zero", psql.StandardError, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(PoolMode.Session)]
    [InlineData(PoolMode.Transaction)]
    public async Task Notices_reach_the_client(PoolMode mode)
    {
        await using var proxy = await TestSetup.StartProxyAsync(fixture, mode);
        await using var connection = await Db.OpenAsync(proxy.ConnectionString(TestRoles.Scram));
        var notices = new List<PostgresNotice>();
        connection.Notice += (_, e) =>
        {
            lock (notices)
            {
                notices.Add(e.Notice);
            }
        };

        await Db.ExecuteAsync(connection, "DO $$ BEGIN RAISE NOTICE 'hello from %', 'plpgsql'; RAISE WARNING 'careful'; END $$");
        Assert.Equal(1, await Db.ScalarAsync<int>(connection, "SELECT 1"));

        lock (notices)
        {
            Assert.Collection(
                notices,
                notice => Assert.Equal(("NOTICE", "hello from plpgsql"), (notice.InvariantSeverity, notice.MessageText)),
                notice => Assert.Equal(("WARNING", "careful"), (notice.InvariantSeverity, notice.MessageText)));
        }

        var psql = await fixture.RunPsqlAsync(proxy.Port, "DO $$ BEGIN RAISE NOTICE 'psql sees this'; END $$", TestRoles.Scram.Name, TestRoles.Scram.Password);
        Assert.True(psql.Succeeded, psql.StandardError);
        Assert.Contains("NOTICE:  psql sees this", psql.StandardError, StringComparison.Ordinal);
    }
}
