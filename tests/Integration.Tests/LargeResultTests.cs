using System.Data;
using System.Security.Cryptography;
using System.Text;
using Npgsql;
using Sluice.Integration.Tests.Fixtures;
using Sluice.Integration.Tests.Support;
using Sluice.Proxy.Configuration;

namespace Sluice.Integration.Tests;

/// <summary>Results (and parameters) far larger than any buffer of the proxy arrive whole and unchanged.</summary>
[Collection(PostgresCollection.Name)]
public sealed class LargeResultTests(PostgresFixture fixture)
{
    private const int Rows = 52_000;
    private const int RowWidth = 1_000;

    [Theory]
    [InlineData(PoolMode.Session)]
    [InlineData(PoolMode.Transaction)]
    public async Task Npgsql_reads_a_50_MB_result_of_many_rows(PoolMode mode)
    {
        await using var proxy = await TestSetup.StartProxyAsync(fixture, mode);
        await using var connection = await Db.OpenAsync(proxy.ConnectionString(TestRoles.Scram));

        // Each row carries its number at both ends, so a lost, doubled or reordered piece shows.
        await using var command = new NpgsqlCommand($"SELECT n, lpad(n::text, 10, '0') || repeat('x', {RowWidth - 20}) || lpad(n::text, 10, '0') FROM generate_series(1, {Rows}) AS n", connection);
        await using var reader = await command.ExecuteReaderAsync();
        long totalLength = 0;
        var expected = 1;
        while (await reader.ReadAsync())
        {
            var n = reader.GetInt32(0);
            var text = reader.GetString(1);
            Assert.Equal(expected, n);
            var label = n.ToString("D10", System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(text.Length == RowWidth && text.StartsWith(label, StringComparison.Ordinal) && text.EndsWith(label, StringComparison.Ordinal), $"row {n} arrived damaged");
            totalLength += text.Length;
            expected++;
        }

        Assert.Equal(Rows + 1, expected);
        Assert.Equal((long)Rows * RowWidth, totalLength);
    }

    [Theory]
    [InlineData(PoolMode.Session)]
    [InlineData(PoolMode.Transaction)]
    public async Task Npgsql_reads_a_single_50_MB_value(PoolMode mode)
    {
        await using var proxy = await TestSetup.StartProxyAsync(fixture, mode);
        await using var connection = await Db.OpenAsync(proxy.ConnectionString(TestRoles.Scram));

        // 1,638,400 distinct md5 digests = 52,428,800 bytes in one DataRow; the server hashes what it sent.
        await using var command = new NpgsqlCommand(
            """
            WITH big AS (SELECT convert_to(string_agg(md5(n::text), '' ORDER BY n), 'UTF8') AS value FROM generate_series(1, 1638400) AS n)
            SELECT encode(sha256(value), 'hex'), value FROM big
            """,
            connection);
        await using var reader = await command.ExecuteReaderAsync(CommandBehavior.SequentialAccess);
        Assert.True(await reader.ReadAsync());
        var serverHash = reader.GetString(0);
        await using var stream = await reader.GetStreamAsync(1);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[81920];
        long length = 0;
        int read;
        while ((read = await stream.ReadAsync(buffer)) > 0)
        {
            sha.AppendData(buffer, 0, read);
            length += read;
        }

        Assert.Equal(1_638_400L * 32, length);
        Assert.Equal(serverHash, Convert.ToHexStringLower(sha.GetHashAndReset()));
        Assert.False(await reader.ReadAsync());
    }

    [Theory]
    [InlineData(PoolMode.Session)]
    [InlineData(PoolMode.Transaction)]
    public async Task Npgsql_sends_a_20_MB_parameter(PoolMode mode)
    {
        await using var proxy = await TestSetup.StartProxyAsync(fixture, mode);
        await using var connection = await Db.OpenAsync(proxy.ConnectionString(TestRoles.Scram));
        var value = new byte[20 * 1024 * 1024];
        new Random(42).NextBytes(value);

        await using var command = new NpgsqlCommand("SELECT length($1), encode(sha256($1), 'hex')", connection) { Parameters = { new() { Value = value } } };
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());

        Assert.Equal(value.Length, reader.GetInt32(0));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(value)), reader.GetString(1));
    }

    [Fact]
    public async Task Psql_prints_a_50_MB_result_completely()
    {
        await using var proxy = await TestSetup.StartProxyAsync(fixture, PoolMode.Transaction);

        var result = await fixture.RunPsqlAsync(
            proxy.Port,
            $"SELECT repeat('x', {RowWidth}) FROM generate_series(1, {Rows})",
            TestRoles.Scram.Name,
            TestRoles.Scram.Password,
            timeout: TimeSpan.FromSeconds(120));

        Assert.True(result.Succeeded, result.StandardError);
        // -A -t: one line of 1000 x's per row.
        Assert.Equal((long)Rows * (RowWidth + 1), result.StandardOutput.Length);
        Assert.Equal(Rows, result.StandardOutput.Count(c => c == '\n'));
        Assert.Equal((long)Rows * RowWidth, result.StandardOutput.Count(c => c == 'x'));
    }

    [Fact]
    public async Task The_connection_is_usable_after_a_large_result()
    {
        await using var proxy = await TestSetup.StartProxyAsync(fixture, PoolMode.Transaction, poolSize: 1);
        await using var connection = await Db.OpenAsync(proxy.ConnectionString(TestRoles.Scram));

        for (var round = 0; round < 3; round++)
        {
            var length = await Db.ScalarAsync<long>(connection, "SELECT sum(length(repeat('y', 1000) || n)) FROM generate_series(1, 1000) AS n");
            Assert.True(length > 1_000_000);
            await using var command = new NpgsqlCommand("SELECT repeat('z', 4 * 1024 * 1024)", connection);
            Assert.Equal(4 * 1024 * 1024, ((string)(await command.ExecuteScalarAsync())!).Length);
        }

        Assert.Equal(Encoding.UTF8.GetByteCount("ok"), await Db.ScalarAsync<int>(connection, "SELECT octet_length('ok')"));
    }
}
