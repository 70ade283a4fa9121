using System.Globalization;
using Npgsql;
using Sluice.Integration.Tests.Fixtures;
using Xunit.Abstractions;

namespace Sluice.Integration.Tests.Operations;

/// <summary>/metrics after real traffic: promtool accepts the scrape and the counters move by what the clients did.</summary>
[Collection(PostgresCollection.Name)]
public sealed class MetricsTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private const int Transactions = 25;
    private const string Db = $"database=\"{PostgresFixture.Database}\"";

    [Fact]
    public async Task Real_traffic_moves_the_metrics_and_the_scrape_passes_promtool()
    {
        await using var proxy = await fixture.StartProxyAsync();
        using var http = new HttpClient { BaseAddress = proxy.HttpBaseAddress };

        await using var connection = new NpgsqlConnection(proxy.ConnectionString(TestRoles.Scram));
        await connection.OpenAsync();
        await using (var create = new NpgsqlCommand("CREATE TABLE IF NOT EXISTS ops_metrics (id serial PRIMARY KEY, note text)", connection))
        {
            await create.ExecuteNonQueryAsync();
        }

        // Both servers pass a health check within a few intervals.
        var before = await ScrapeUntilAsync(http, text => Scrape.Samples(text, "sluice_server_up", Db) is { Count: 2 } up && up.All(s => s.Value == 1));
        Assert.Equal(2, Scrape.Samples(before, "sluice_server_up", Db).Count);

        for (var i = 0; i < Transactions; i++)
        {
            await using var transaction = await connection.BeginTransactionAsync();
            await using var insert = new NpgsqlCommand("INSERT INTO ops_metrics (note) VALUES ($1)", connection, transaction);
            insert.Parameters.AddWithValue(string.Create(CultureInfo.InvariantCulture, $"row {i}"));
            await insert.ExecuteNonQueryAsync();
            await transaction.CommitAsync();
        }

        var afterTransactions = await ScrapeAsync(http);
        var bad = await Assert.ThrowsAsync<PostgresException>(async () =>
        {
            await using var query = new NpgsqlCommand("SELECT * FROM ops_no_such_table", connection);
            await query.ExecuteNonQueryAsync();
        });
        Assert.Equal("42P01", bad.SqlState);
        var after = await ScrapeAsync(http);

        var transactionsRun = Scrape.Sum(afterTransactions, "sluice_transactions_total", Db) - Scrape.Sum(before, "sluice_transactions_total", Db);
        var queriesRun = Scrape.Sum(afterTransactions, "sluice_queries_total", Db) - Scrape.Sum(before, "sluice_queries_total", Db);
        var bytesIn = Scrape.Sum(afterTransactions, "sluice_bytes_total", "direction=\"client_to_server\"") - Scrape.Sum(before, "sluice_bytes_total", "direction=\"client_to_server\"");
        var bytesAll = Scrape.Sum(afterTransactions, "sluice_bytes_total") - Scrape.Sum(before, "sluice_bytes_total");
        var errors42 = Scrape.Sum(after, "sluice_errors_total", Db, "sqlstate_class=\"42\"") - Scrape.Sum(afterTransactions, "sluice_errors_total", Db, "sqlstate_class=\"42\"");
        var clients = Scrape.Sum(after, "sluice_client_connections", Db, $"user=\"{TestRoles.Scram.Name}\"");
        var promtool = await Tool.RunAsync("promtool", ["check", "metrics"], stdin: after);

        output.WriteLine($"transactions run {Transactions}: sluice_transactions_total +{transactionsRun}, sluice_queries_total +{queriesRun}, sluice_bytes_total +{bytesAll} (client_to_server +{bytesIn})");
        output.WriteLine($"after one bad query: sluice_errors_total{{sqlstate_class=\"42\"}} +{errors42}; sluice_client_connections{{user=scram_user}} = {clients}");
        output.WriteLine($"promtool check metrics: exit {promtool.ExitCode} {promtool.Output.Trim()}; {after.Split('\n').Count(l => l.StartsWith("sluice_", StringComparison.Ordinal))} sluice_ samples");

        Assert.True(promtool.ExitCode == 0, promtool.Output);
        Assert.Equal(Transactions, transactionsRun);
        Assert.True(queriesRun >= Transactions, $"queries +{queriesRun}");
        Assert.True(bytesAll > 0 && bytesIn > 0, $"bytes +{bytesAll}, client_to_server +{bytesIn}");
        Assert.Equal(1, errors42);
        Assert.Equal(1, clients);
        Assert.All(Scrape.Samples(after, "sluice_server_up", Db), s => Assert.Equal(1, s.Value));
        Assert.Contains("# TYPE sluice_checkout_wait_seconds histogram", after, StringComparison.Ordinal);
        Assert.Contains("# TYPE sluice_query_duration_seconds histogram", after, StringComparison.Ordinal);

        await connection.CloseAsync();
        var closed = await ScrapeUntilAsync(http, text => Scrape.Sum(text, "sluice_client_connections", Db, $"user=\"{TestRoles.Scram.Name}\"") == 0);
        Assert.Equal(0, Scrape.Sum(closed, "sluice_client_connections", Db, $"user=\"{TestRoles.Scram.Name}\""));
    }

    [Fact]
    public async Task A_freshly_started_proxy_exports_every_configured_pool_at_zero()
    {
        var config = fixture.CreateProxyConfig();
        await using var proxy = await fixture.StartProxyAsync(config);
        using var http = new HttpClient { BaseAddress = proxy.HttpBaseAddress };

        // No client has connected: every series a dashboard or alert needs is there, at 0, not missing.
        var scrape = await ScrapeAsync(http);

        var servers = config.Databases.Single().Servers.Select(s => s.Name).ToArray();
        foreach (var user in config.Users.Select(u => $"user=\"{u.Name}\""))
        {
            foreach (var state in new[] { "active", "idle", "waiting" })
            {
                AssertZero(scrape, "sluice_client_connections", Db, user, $"state=\"{state}\"");
            }

            AssertZero(scrape, "sluice_pool_waiting_clients", Db, user);
            AssertZero(scrape, "sluice_clients_pinned", Db, user);
            foreach (var server in servers)
            {
                foreach (var state in new[] { "active", "idle", "login" })
                {
                    AssertZero(scrape, "sluice_server_connections", Db, user, $"server=\"{server}\"", $"state=\"{state}\"");
                }
            }
        }

        Assert.Equal(config.Users.Length * 3, Scrape.Samples(scrape, "sluice_client_connections").Count);
        Assert.Equal(config.Users.Length * servers.Length * 3, Scrape.Samples(scrape, "sluice_server_connections").Count);
        var promtool = await Tool.RunAsync("promtool", ["check", "metrics"], stdin: scrape);
        output.WriteLine($"fresh proxy: {Scrape.Samples(scrape, "sluice_client_connections").Count} sluice_client_connections series, promtool exit {promtool.ExitCode} {promtool.Output.Trim()}");
        Assert.True(promtool.ExitCode == 0 && promtool.Output.Trim().Length == 0, promtool.Output);
    }

    [Fact]
    public async Task A_reload_adds_and_removes_the_series_of_pools()
    {
        var config = fixture.CreateProxyConfig();
        await using var proxy = await fixture.StartProxyAsync(config);
        using var http = new HttpClient { BaseAddress = proxy.HttpBaseAddress };
        const string Added = "sluice_test_reporting";
        var removedUser = $"user=\"{TestRoles.Md5.Name}\"";
        Assert.Single(Scrape.Samples(await ScrapeAsync(http), "sluice_pool_waiting_clients", Db, removedUser));

        var database = config.Databases.Single();
        proxy.Server.Reload(config with
        {
            Users = [.. config.Users.Where(u => u.Name != TestRoles.Md5.Name)],
            Databases = [database, database with { Name = Added, BackendDatabase = PostgresFixture.Database }],
        });
        var scrape = await ScrapeAsync(http);

        foreach (var metric in new[] { "sluice_client_connections", "sluice_pool_waiting_clients", "sluice_clients_pinned", "sluice_server_connections" })
        {
            Assert.Empty(Scrape.Samples(scrape, metric, removedUser));
            Assert.NotEmpty(Scrape.Samples(scrape, metric, Db));
            var added = Scrape.Samples(scrape, metric, $"database=\"{Added}\"");
            Assert.NotEmpty(added);
            Assert.All(added, s => Assert.Equal(0, s.Value));
        }

        AssertZero(scrape, "sluice_client_connections", $"database=\"{Added}\"", $"user=\"{TestRoles.Scram.Name}\"", "state=\"waiting\"");
    }

    private static void AssertZero(string scrape, string metric, params string[] labels)
    {
        var sample = Assert.Single(Scrape.Samples(scrape, metric, labels));
        Assert.Equal(0, sample.Value);
    }

    private static async Task<string> ScrapeAsync(HttpClient http)
    {
        using var response = await http.GetAsync(new Uri("metrics", UriKind.Relative));
        response.EnsureSuccessStatusCode();
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
        return await response.Content.ReadAsStringAsync();
    }

    private static async Task<string> ScrapeUntilAsync(HttpClient http, Func<string, bool> condition)
    {
        var text = "";
        for (var attempt = 0; attempt < 100; attempt++)
        {
            text = await ScrapeAsync(http);
            if (condition(text))
            {
                break;
            }

            await Task.Delay(100);
        }

        return text;
    }
}
