using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Npgsql;
using Sluice.Integration.Tests.Fixtures;
using Xunit.Abstractions;

namespace Sluice.Integration.Tests.Operations;

/// <summary>
/// The real binary runs its socket completions inline on .NET's socket threads (the in-process proxies of the other
/// tests do not: their test clients block on those threads, see docs/transport.md). Here the paths that could block a
/// socket thread are driven through the binary: cancel, a large result, a server login with SCRAM, prepared
/// statements under pgbench.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed partial class InlineCompletionsTests(PostgresFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public async Task The_binary_runs_inline_and_cancel_large_results_and_pgbench_work()
    {
        var directory = Tool.TempDirectory();
        try
        {
            var path = Path.Combine(directory, "proxy.toml");
            await File.WriteAllTextAsync(path, new OpsConfigFile { PoolMode = "transaction", PoolSize = 3 }.Render(fixture));
            await using var sluice = SluiceBinary.Start(path);
            var (port, _) = await SluiceBinary.WaitForPortsAsync(sluice);
            output.WriteLine(await sluice.WaitForLineAsync("socket completions run", TimeSpan.FromSeconds(10)));
            Assert.Contains("inline on the socket threads", sluice.Output, StringComparison.Ordinal);
            var connectionString = SluiceBinary.ConnectionString(port, TestRoles.Scram.Name, TestRoles.Scram.Password);

            // Cancel: a new connection to the binary carries the key; the running query stops, the connection goes on.
            await using (var connection = new NpgsqlConnection(connectionString))
            {
                await connection.OpenAsync();
                await using var sleep = new NpgsqlCommand("SELECT pg_sleep(30)", connection);
                var clock = Stopwatch.StartNew();
                var running = sleep.ExecuteNonQueryAsync();
                await Task.Delay(300);
                await Task.Run(sleep.Cancel);
                var cancelled = await Assert.ThrowsAnyAsync<Exception>(() => running);
                output.WriteLine($"cancelled after {clock.ElapsedMilliseconds} ms: {cancelled.Message}");
                Assert.Equal("57014", Assert.IsType<PostgresException>(cancelled.InnerException ?? cancelled).SqlState);
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10));
                await using var after = new NpgsqlCommand("SELECT 1", connection);
                Assert.Equal(1, await after.ExecuteScalarAsync());
            }

            // A result far larger than any socket buffer, then the same connection again.
            await using (var connection = new NpgsqlConnection(connectionString))
            {
                await connection.OpenAsync();
                await using var large = new NpgsqlCommand("SELECT g, repeat('x', 200) FROM generate_series(1, 200000) g", connection);
                long sum = 0;
                await using (var reader = await large.ExecuteReaderAsync())
                {
                    while (await reader.ReadAsync())
                    {
                        sum += reader.GetInt32(0);
                    }
                }

                Assert.Equal(200000L * 200001 / 2, sum);
                await using var after = new NpgsqlCommand("SELECT 2", connection);
                Assert.Equal(2, await after.ExecuteScalarAsync());
            }

            // pgbench, extended protocol, more clients than servers: nothing lost, nothing failed.
            var init = await fixture.RunPgbenchAsync(
                ["-i", "-s", "1", "-q", "-h", "127.0.0.1", "-p", fixture.PrimaryPort.ToString(CultureInfo.InvariantCulture), "-U", TestRoles.Scram.Name, PostgresFixture.Database],
                TestRoles.Scram.Password,
                TimeSpan.FromSeconds(60));
            Assert.True(init.Succeeded, init.StandardError);
            var result = await fixture.RunPgbenchAsync(
                ["-n", "-c", "8", "-j", "2", "-T", "3", "-S", "-M", "extended", "-h", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), "-U", TestRoles.Scram.Name, PostgresFixture.Database],
                TestRoles.Scram.Password,
                TimeSpan.FromSeconds(60));
            output.WriteLine(result.StandardOutput);
            Assert.True(result.Succeeded, result.StandardError);
            Assert.True(long.Parse(ProcessedPattern().Match(result.StandardOutput).Groups[1].Value, CultureInfo.InvariantCulture) > 0);
            Assert.DoesNotMatch(FailedPattern(), result.StandardOutput);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [GeneratedRegex(@"^number of transactions actually processed: (\d+)", RegexOptions.Multiline)]
    private static partial Regex ProcessedPattern();

    [GeneratedRegex(@"^number of failed transactions: [1-9]", RegexOptions.Multiline)]
    private static partial Regex FailedPattern();
}
