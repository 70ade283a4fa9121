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
