using System.Diagnostics;
using System.Globalization;
using System.Net;
using Npgsql;
using Sluice.Integration.Tests.Fixtures;
using Xunit.Abstractions;

namespace Sluice.Integration.Tests.Operations;

/// <summary>
/// HAProxy (TCP mode, `option httpchk GET /ready`) in front of two Sluice instances; one is drained while clients run
/// transactions through HAProxy. A transaction that began (BEGIN answered) must commit: failures of those stay 0.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class HaproxyDrainTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private const string HaproxyPath = "/usr/sbin/haproxy";
    private const int Clients = 4;
    private const int MaxTransactionsPerClient = 400;
    private static readonly TimeSpan RunTime = TimeSpan.FromSeconds(6);
    private static readonly TimeSpan DrainAfter = TimeSpan.FromSeconds(2);

    /// <summary>The HAProxy config the test runs (docs/operations.md shows the same one).</summary>
    internal static string HaproxyConfig(int frontendPort, (int Port, int HttpPort) first, (int Port, int HttpPort) second) => string.Create(CultureInfo.InvariantCulture, $"""
        global
            maxconn 200

        defaults
            mode tcp
            timeout connect 2s
            timeout client 60s
            timeout server 60s
            retries 3
            option redispatch 1

        frontend postgres
            bind 127.0.0.1:{frontendPort}
            default_backend sluice

        backend sluice
            balance roundrobin
            option httpchk GET /ready
            http-check expect status 200
            default-server inter 200ms fall 1 rise 1
            server sluice1 127.0.0.1:{first.Port} check port {first.HttpPort}
            server sluice2 127.0.0.1:{second.Port} check port {second.HttpPort}

        """);

    [Fact]
    public async Task Draining_one_instance_loses_no_started_transaction()
    {
        Assert.True(File.Exists(HaproxyPath), "haproxy is not installed (Debian package haproxy)");
        await using (var setup = new NpgsqlConnection(fixture.PrimaryConnectionString()))
        {
            await setup.OpenAsync();
            await using var create = new NpgsqlCommand("DROP TABLE IF EXISTS ops_drain; CREATE TABLE ops_drain (client int, n int, PRIMARY KEY (client, n))", setup);
            await create.ExecuteNonQueryAsync();
        }

        var config = fixture.CreateProxyConfig() with { };
        config = config with { Server = config.Server with { ShutdownTimeout = TimeSpan.FromSeconds(5) } };
        await using var first = await fixture.StartProxyAsync(config);
        await using var second = await fixture.StartProxyAsync(config);
        var directory = Tool.TempDirectory();
        var frontendPort = Tool.FreePort();
        var configPath = Path.Combine(directory, "haproxy.cfg");
        await File.WriteAllTextAsync(configPath, HaproxyConfig(frontendPort, (first.Port, first.HttpPort!.Value), (second.Port, second.HttpPort!.Value)));
        await using var haproxy = ChildProcess.Start(HaproxyPath, "-f", configPath, "-db");
        try
        {
            var connectionString = new NpgsqlConnectionStringBuilder
            {
                Host = "127.0.0.1",
                Port = frontendPort,
                Database = PostgresFixture.Database,
                Username = TestRoles.Scram.Name,
                Password = TestRoles.Scram.Password,
                Pooling = false,
                Timeout = 10,
            }.ConnectionString;
            await WaitUntilReachableAsync(connectionString);

            var stats = new DrainStats();
            var started = Stopwatch.StartNew();
            var clients = Enumerable.Range(0, Clients).Select(id => Task.Run(() => ClientLoopAsync(id, connectionString, started, stats))).ToArray();

            await Task.Delay(DrainAfter);
            using var http = new HttpClient { BaseAddress = first.HttpBaseAddress, Timeout = TimeSpan.FromSeconds(2) };
            using (var warm = await http.GetAsync(new Uri("ready", UriKind.Relative)))
            {
                // Also opens the HTTP connection, so the drain's timing below is not a first request's.
                Assert.Equal(HttpStatusCode.OK, warm.StatusCode);
            }

            // A client straight on sluice1 with a transaction open when the drain begins: it must be able to finish.
            await using var direct = new NpgsqlConnection(first.ConnectionString(TestRoles.Scram));
            await direct.OpenAsync();
            var directTransaction = await direct.BeginTransactionAsync();
            await InsertAsync(direct, directTransaction, 99, 0);

            var committedAtDrain = stats.Committed;
            var drainStarted = Stopwatch.StartNew();
            var drain = first.Server.StopAsync();
            var notReadyAfter = await TimeUntilNotReadyAsync(http, drainStarted);
            await Task.Delay(300);
            await InsertAsync(direct, directTransaction, 99, 1);
            await directTransaction.CommitAsync();
            var directCommittedAfter = drainStarted.Elapsed;
            await drain;
            var drainTook = drainStarted.Elapsed;
            await Task.WhenAll(clients);

            long rows;
            await using (var check = new NpgsqlConnection(fixture.PrimaryConnectionString()))
            {
                await check.OpenAsync();
                await using var count = new NpgsqlCommand("SELECT count(*) FROM ops_drain", check);
                rows = (long)(await count.ExecuteScalarAsync())!;
            }

            output.WriteLine($"clients {Clients}, run {started.Elapsed.TotalSeconds:0.0}s, drain of sluice1 at {DrainAfter.TotalSeconds:0.0}s");
            output.WriteLine($"transactions committed {stats.Committed} ({committedAtDrain} before the drain, {stats.Committed - committedAtDrain} from it on); rows in the table {rows}");
            output.WriteLine($"the transaction open on sluice1 at the drain committed {directCommittedAfter.TotalMilliseconds:0} ms into it");
            output.WriteLine($"failed started transactions {stats.FailedStarted}; connect-level retries (before BEGIN) {stats.Retries}");
            output.WriteLine($"/ready of the drained instance answered 503 after {notReadyAfter?.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture) ?? "never"} ms; StopAsync took {drainTook.TotalMilliseconds:0} ms");
            foreach (var error in stats.Errors.Take(10))
            {
                output.WriteLine("  " + error);
            }

            Assert.NotNull(notReadyAfter);
            Assert.True(notReadyAfter < TimeSpan.FromSeconds(1), $"/ready turned 503 after {notReadyAfter}");
            Assert.Equal(0, stats.FailedStarted);
            Assert.Equal(stats.Committed + 2, rows);
            Assert.True(stats.Committed - committedAtDrain >= Clients * 10, $"only {stats.Committed - committedAtDrain} transactions after the drain");
        }
        finally
        {
            await haproxy.SignalAsync("TERM");
            await haproxy.WaitForExitAsync(TimeSpan.FromSeconds(5));
            Directory.Delete(directory, recursive: true);
        }
    }

    private static async Task ClientLoopAsync(int id, string connectionString, Stopwatch clock, DrainStats stats)
    {
        var n = 0;
        while (n < MaxTransactionsPerClient && clock.Elapsed < RunTime)
        {
            // One connection per transaction: a connection that lands on the draining instance fails before BEGIN is
            // answered, and that transaction is simply tried again (as an application's connection retry would).
            NpgsqlConnection? connection = null;
            NpgsqlTransaction? transaction = null;
            try
            {
                connection = new NpgsqlConnection(connectionString);
                await connection.OpenAsync();
                transaction = await connection.BeginTransactionAsync();
                await using (var probe = new NpgsqlCommand("SELECT 1", connection, transaction))
                {
                    // Npgsql sends BEGIN with the first command: the transaction has started once this returns.
                    await probe.ExecuteScalarAsync();
                }
            }
            catch (Exception ex) when (ex is NpgsqlException or IOException or TimeoutException or ObjectDisposedException)
            {
                // ObjectDisposedException: Npgsql's own race when the connection is closed under it (57P01 at drain).
                Interlocked.Increment(ref stats.Retries);
                stats.Errors.Add($"retry before BEGIN (client {id}): {ex.GetType().Name} {(ex as PostgresException)?.SqlState} {ex.Message}");
                await DisposeAsync(connection);
                await Task.Delay(20);
                continue;
            }

            try
            {
                await InsertAsync(connection, transaction!, id, n);

                await transaction!.CommitAsync();
                Interlocked.Increment(ref stats.Committed);
                n++;
            }
            catch (Exception ex) when (ex is NpgsqlException or IOException or TimeoutException)
            {
                Interlocked.Increment(ref stats.FailedStarted);
                stats.Errors.Add($"FAILED started transaction (client {id}, n {n}): {ex.GetType().Name} {(ex as PostgresException)?.SqlState} {ex.Message}");
                n++;
            }
            finally
            {
                await DisposeAsync(connection);
            }
        }
    }

    private static async Task InsertAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, int client, int n)
    {
        await using var insert = new NpgsqlCommand("INSERT INTO ops_drain (client, n) VALUES ($1, $2)", connection, transaction);
        insert.Parameters.AddWithValue(client);
        insert.Parameters.AddWithValue(n);
        await insert.ExecuteNonQueryAsync();
    }

    private static async Task DisposeAsync(NpgsqlConnection? connection)
    {
        if (connection is null)
        {
            return;
        }

        try
        {
            await connection.DisposeAsync();
        }
        catch (Exception ex) when (ex is NpgsqlException or IOException)
        {
        }
    }

    private static async Task<TimeSpan?> TimeUntilNotReadyAsync(HttpClient http, Stopwatch since)
    {
        while (since.Elapsed < TimeSpan.FromSeconds(5))
        {
            try
            {
                using var response = await http.GetAsync(new Uri("ready", UriKind.Relative));
                if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
                {
                    return since.Elapsed;
                }
            }
            catch (HttpRequestException)
            {
                // The endpoint is gone: the drain is over; it must have said 503 before.
                return null;
            }

            await Task.Delay(5);
        }

        return null;
    }

    private static async Task WaitUntilReachableAsync(string connectionString)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await using var connection = new NpgsqlConnection(connectionString);
                await connection.OpenAsync();
                return;
            }
            catch (NpgsqlException) when (attempt < 50)
            {
                await Task.Delay(100);
            }
        }
    }

    private sealed class DrainStats
    {
        public int Committed;
        public int FailedStarted;
        public int Retries;
        public readonly System.Collections.Concurrent.ConcurrentBag<string> Errors = [];
    }
}
