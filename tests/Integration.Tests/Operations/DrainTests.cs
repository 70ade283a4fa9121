using System.Diagnostics;
using System.Net;
using Npgsql;
using Sluice.Integration.Tests.Fixtures;
using Xunit.Abstractions;

namespace Sluice.Integration.Tests.Operations;

/// <summary>SIGTERM on the real binary: /ready 503 at once, no new clients, open transactions finish, stragglers get 57P01, exit 0.</summary>
[Collection(PostgresCollection.Name)]
public sealed class DrainTests(PostgresFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public async Task Sigterm_drains_running_transactions_then_closes_the_rest_with_57P01_and_exits_0()
    {
        await using (var setup = new NpgsqlConnection(fixture.PrimaryConnectionString()))
        {
            await setup.OpenAsync();
            await using var create = new NpgsqlCommand("DROP TABLE IF EXISTS ops_sigterm; CREATE TABLE ops_sigterm (who text)", setup);
            await create.ExecuteNonQueryAsync();
        }

        var directory = Tool.TempDirectory();
        try
        {
            var path = Path.Combine(directory, "proxy.toml");
            await File.WriteAllTextAsync(path, new OpsConfigFile { PoolMode = "transaction", ShutdownTimeout = "3s" }.Render(fixture));
            await using var sluice = SluiceBinary.Start(path);
            var (port, httpPort) = await SluiceBinary.WaitForPortsAsync(sluice);
            var connectionString = SluiceBinary.ConnectionString(port, TestRoles.Scram.Name, TestRoles.Scram.Password);
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}/"), Timeout = TimeSpan.FromSeconds(2) };
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("ready", UriKind.Relative))).StatusCode);

            await using var finisher = new NpgsqlConnection(connectionString);
            await using var straggler = new NpgsqlConnection(connectionString);
            await finisher.OpenAsync();
            await straggler.OpenAsync();
            var finisherTransaction = await finisher.BeginTransactionAsync();
            await ExecuteAsync(finisher, "INSERT INTO ops_sigterm VALUES ('finisher-1')");
            await using var stragglerTransaction = await straggler.BeginTransactionAsync();
            await ExecuteAsync(straggler, "INSERT INTO ops_sigterm VALUES ('straggler')");

            var clock = Stopwatch.StartNew();
            await sluice.SignalAsync("TERM");
            TimeSpan? notReady = null;
            while (clock.Elapsed < TimeSpan.FromSeconds(2))
            {
                if ((await http.GetAsync(new Uri("ready", UriKind.Relative))).StatusCode == HttpStatusCode.ServiceUnavailable)
                {
                    notReady = clock.Elapsed;
                    break;
                }

                await Task.Delay(10);
            }

            output.WriteLine($"/ready answered 503 {notReady?.TotalMilliseconds:0} ms after SIGTERM");
            Assert.NotNull(notReady);

            // No new clients.
            var refused = await Assert.ThrowsAnyAsync<Exception>(async () =>
            {
                await using var late = new NpgsqlConnection(connectionString);
                await late.OpenAsync();
            });
            output.WriteLine($"new connection during the drain: {refused.GetType().Name}: {refused.Message}");

            // The running transaction goes on and commits.
            await Task.Delay(500);
            await ExecuteAsync(finisher, "INSERT INTO ops_sigterm VALUES ('finisher-2')");
            await finisherTransaction.CommitAsync();
            output.WriteLine($"open transaction committed {clock.ElapsedMilliseconds} ms after SIGTERM");

            // The other one is still open after shutdown_timeout (3 s): it is closed with 57P01.
            await Task.Delay(TimeSpan.FromSeconds(3.5) - clock.Elapsed);
            var closed = await Assert.ThrowsAnyAsync<NpgsqlException>(() => ExecuteAsync(straggler, "INSERT INTO ops_sigterm VALUES ('straggler-2')"));
            output.WriteLine($"transaction open past shutdown_timeout: {closed.GetType().Name} {(closed as PostgresException)?.SqlState} {closed.Message}");
            Assert.Equal("57P01", Assert.IsType<PostgresException>(closed).SqlState);

            Assert.True(await sluice.WaitForExitAsync(TimeSpan.FromSeconds(15)), sluice.Output);
            output.WriteLine($"exit code {sluice.ExitCode} after {clock.ElapsedMilliseconds} ms");
            Assert.Equal(0, sluice.ExitCode);

            await using var check = new NpgsqlConnection(fixture.PrimaryConnectionString());
            await check.OpenAsync();
            await using var rows = new NpgsqlCommand("SELECT string_agg(who, ',' ORDER BY who) FROM ops_sigterm", check);
            Assert.Equal("finisher-1,finisher-2", await rows.ExecuteScalarAsync());
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
