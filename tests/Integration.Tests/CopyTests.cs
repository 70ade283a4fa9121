using System.Globalization;
using Npgsql;
using NpgsqlTypes;
using Sluice.Integration.Tests.Fixtures;
using Sluice.Integration.Tests.Support;
using Sluice.Proxy.Configuration;

namespace Sluice.Integration.Tests;

/// <summary>COPY in both directions, text and binary, with Npgsql and psql's \copy; results checked on the primary directly.</summary>
[Collection(PostgresCollection.Name)]
public sealed class CopyTests(PostgresFixture fixture)
{
    private const int RowCount = 100_000;

    // Sum of 1..100000, for checking that every row arrived once.
    private const long IdSum = (long)RowCount * (RowCount + 1) / 2;

    [Theory]
    [InlineData(PoolMode.Session)]
    [InlineData(PoolMode.Transaction)]
    public async Task Text_import_of_100k_rows_arrives_on_the_primary(PoolMode mode)
    {
        var table = await CreateTableAsync("copy_text_in");
        await using var proxy = await TestSetup.StartProxyAsync(fixture, mode);
        await using var connection = await Db.OpenAsync(proxy.ConnectionString(TestRoles.Scram));

        await using (var writer = await connection.BeginTextImportAsync($"COPY {table} (id, name) FROM STDIN"))
        {
            for (var i = 1; i <= RowCount; i++)
            {
                await writer.WriteAsync(string.Create(CultureInfo.InvariantCulture, $"{i}\tname {i}\n"));
            }
        }

        await AssertTableHoldsAllRowsAsync(table);
        Assert.Equal(1, await Db.ScalarAsync<int>(connection, "SELECT 1"));
    }

    [Theory]
    [InlineData(PoolMode.Session)]
    [InlineData(PoolMode.Transaction)]
    public async Task Binary_import_of_100k_rows_arrives_on_the_primary(PoolMode mode)
    {
        var table = await CreateTableAsync("copy_bin_in");
        await using var proxy = await TestSetup.StartProxyAsync(fixture, mode);
        await using var connection = await Db.OpenAsync(proxy.ConnectionString(TestRoles.Scram));

        ulong imported;
        await using (var importer = await connection.BeginBinaryImportAsync($"COPY {table} (id, name, payload) FROM STDIN (FORMAT BINARY)"))
        {
            for (var i = 1; i <= RowCount; i++)
            {
                await importer.StartRowAsync();
                await importer.WriteAsync(i, NpgsqlDbType.Integer);
                await importer.WriteAsync($"name {i}", NpgsqlDbType.Text);
                await importer.WriteAsync(new[] { (byte)(i >> 24), (byte)(i >> 16), (byte)(i >> 8), (byte)i }, NpgsqlDbType.Bytea);
            }

            imported = await importer.CompleteAsync();
        }

        Assert.Equal((ulong)RowCount, imported);
        await AssertTableHoldsAllRowsAsync(table);
        Assert.Equal(RowCount, await Db.PrimaryScalarAsync<int>(fixture, $"SELECT count(*)::int FROM {table} WHERE payload = int4send(id)"));
        Assert.Equal(1, await Db.ScalarAsync<int>(connection, "SELECT 1"));
    }

    [Theory]
    [InlineData(PoolMode.Session)]
    [InlineData(PoolMode.Transaction)]
    public async Task Text_export_matches_what_the_primary_sends_directly(PoolMode mode)
    {
        var table = await CreateFilledTableAsync("copy_text_out");
        await using var proxy = await TestSetup.StartProxyAsync(fixture, mode);
        await using var connection = await Db.OpenAsync(proxy.ConnectionString(TestRoles.Scram));
        await using var direct = await Db.OpenAsync(fixture.PrimaryConnectionString(role: TestRoles.Scram));

        var viaProxy = await ExportTextAsync(connection, table);
        var fromPrimary = await ExportTextAsync(direct, table);

        var lines = viaProxy.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(RowCount, lines.Length);
        Assert.Equal("1\tname 1\t\\\\x00000001", lines[0]);
        Assert.Equal(IdSum, lines.Sum(line => long.Parse(line.AsSpan(0, line.IndexOf('\t', StringComparison.Ordinal)), CultureInfo.InvariantCulture)));
        Assert.Equal(fromPrimary, viaProxy);
        Assert.Equal(1, await Db.ScalarAsync<int>(connection, "SELECT 1"));
    }

    [Theory]
    [InlineData(PoolMode.Session)]
    [InlineData(PoolMode.Transaction)]
    public async Task Raw_binary_export_is_byte_for_byte_what_the_primary_sends(PoolMode mode)
    {
        var table = await CreateFilledTableAsync("copy_bin_out");
        await using var proxy = await TestSetup.StartProxyAsync(fixture, mode);
        await using var connection = await Db.OpenAsync(proxy.ConnectionString(TestRoles.Scram));
        await using var direct = await Db.OpenAsync(fixture.PrimaryConnectionString(role: TestRoles.Scram));

        var viaProxy = await ExportRawBinaryAsync(connection, table);
        var fromPrimary = await ExportRawBinaryAsync(direct, table);

        Assert.True(viaProxy.AsSpan().StartsWith("PGCOPY\n"u8), "not a binary COPY stream");
        Assert.True(viaProxy.Length > RowCount * 20, $"only {viaProxy.Length} bytes");
        Assert.Equal(fromPrimary.Length, viaProxy.Length);
        Assert.True(fromPrimary.AsSpan().SequenceEqual(viaProxy), "the proxy changed the COPY data");

        // And Npgsql's typed binary export reads every row back.
        long sum = 0;
        var rows = 0;
        await using (var exporter = await connection.BeginBinaryExportAsync($"COPY {table} (id, name) TO STDOUT (FORMAT BINARY)"))
        {
            while (await exporter.StartRowAsync() != -1)
            {
                var id = await exporter.ReadAsync<int>();
                Assert.Equal($"name {id}", await exporter.ReadAsync<string>());
                sum += id;
                rows++;
            }
        }

        Assert.Equal((RowCount, IdSum), (rows, sum));
    }

    [Theory]
    [InlineData(PoolMode.Session)]
    [InlineData(PoolMode.Transaction)]
    public async Task A_failing_copy_reports_its_error_and_the_connection_goes_on(PoolMode mode)
    {
        var table = await CreateTableAsync("copy_fail");
        await using var proxy = await TestSetup.StartProxyAsync(fixture, mode);
        await using var connection = await Db.OpenAsync(proxy.ConnectionString(TestRoles.Scram));

        // Bad data: the server refuses it mid-stream.
        var error = await Assert.ThrowsAsync<PostgresException>(async () =>
        {
            await using var writer = await connection.BeginTextImportAsync($"COPY {table} (id, name) FROM STDIN");
            for (var i = 1; i <= 1000; i++)
            {
                await writer.WriteAsync(i == 500 ? "not-a-number\tbad\n" : string.Create(CultureInfo.InvariantCulture, $"{i}\tok\n"));
            }
        });
        Assert.Equal(PostgresErrorCodes.InvalidTextRepresentation, error.SqlState);
        Assert.Equal(1, await Db.ScalarAsync<int>(connection, "SELECT 1"));

        // The client gives up half way (CopyFail): nothing is kept.
        await using (var importer = await connection.BeginBinaryImportAsync($"COPY {table} (id, name) FROM STDIN (FORMAT BINARY)"))
        {
            for (var i = 1; i <= 1000; i++)
            {
                await importer.WriteRowAsync(default, i, "abandoned");
            }

            // Disposed without Complete: Npgsql cancels the COPY.
        }

        Assert.Equal(2, await Db.ScalarAsync<int>(connection, "SELECT 2"));
        Assert.Equal(0L, await Db.PrimaryScalarAsync<long>(fixture, $"SELECT count(*) FROM {table}"));
    }

    [Theory]
    [InlineData(PoolMode.Session)]
    [InlineData(PoolMode.Transaction)]
    public async Task Psql_copy_from_a_file_and_back_to_a_file(PoolMode mode)
    {
        var table = await CreateTableAsync("psql_copy");
        await using var proxy = await TestSetup.StartProxyAsync(fixture, mode);
        var folder = Directory.CreateTempSubdirectory("sluice-copy-");
        try
        {
            var input = Path.Combine(folder.FullName, "in.tsv");
            var output = Path.Combine(folder.FullName, "out.tsv");
            await File.WriteAllLinesAsync(input, Enumerable.Range(1, RowCount).Select(i => string.Create(CultureInfo.InvariantCulture, $"{i}\tname {i}\t\\\\x{i:x8}")));

            var load = await fixture.RunPsqlAsync(proxy.Port, $"\\copy {table} (id, name, payload) FROM '{input}'", TestRoles.Scram.Name, TestRoles.Scram.Password);
            Assert.True(load.Succeeded, load.StandardError);
            Assert.Equal($"COPY {RowCount}", load.StandardOutput.Trim());
            await AssertTableHoldsAllRowsAsync(table);

            var dump = await fixture.RunPsqlAsync(proxy.Port, $"\\copy (SELECT id, name, payload FROM {table} ORDER BY id) TO '{output}'", TestRoles.Scram.Name, TestRoles.Scram.Password);
            Assert.True(dump.Succeeded, dump.StandardError);
            Assert.Equal($"COPY {RowCount}", dump.StandardOutput.Trim());
            Assert.Equal(await File.ReadAllTextAsync(input), await File.ReadAllTextAsync(output));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private async Task<string> CreateTableAsync(string prefix)
    {
        var table = Db.UniqueName(prefix);
        await Db.PrimaryExecuteAsync(fixture, $"CREATE TABLE {table} (id int PRIMARY KEY, name text NOT NULL, payload bytea)");
        return table;
    }

    private async Task<string> CreateFilledTableAsync(string prefix)
    {
        var table = await CreateTableAsync(prefix);
        await Db.PrimaryExecuteAsync(fixture, $"INSERT INTO {table} SELECT i, 'name ' || i, int4send(i) FROM generate_series(1, {RowCount}) AS i");
        return table;
    }

    private async Task AssertTableHoldsAllRowsAsync(string table)
    {
        await using var primary = await Db.OpenAsync(fixture.PrimaryConnectionString());
        Assert.Equal(RowCount, await Db.ScalarAsync<int>(primary, $"SELECT count(*)::int FROM {table}"));
        Assert.Equal(IdSum, await Db.ScalarAsync<long>(primary, $"SELECT sum(id)::bigint FROM {table}"));
        Assert.Equal(0L, await Db.ScalarAsync<long>(primary, $"SELECT count(*) FROM {table} WHERE name <> 'name ' || id"));
    }

    private static async Task<string> ExportTextAsync(NpgsqlConnection connection, string table)
    {
        using var reader = await connection.BeginTextExportAsync($"COPY (SELECT id, name, payload FROM {table} ORDER BY id) TO STDOUT");
        return await reader.ReadToEndAsync().WaitAsync(Db.WaitLimit);
    }

    private static async Task<byte[]> ExportRawBinaryAsync(NpgsqlConnection connection, string table)
    {
        await using var stream = await connection.BeginRawBinaryCopyAsync($"COPY (SELECT id, name, payload FROM {table} ORDER BY id) TO STDOUT (FORMAT BINARY)");
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy).WaitAsync(Db.WaitLimit);
        return copy.ToArray();
    }
}
