using Sluice.Proxy.Observability;

namespace Sluice.Proxy.Tests.Observability;

public sealed class SluiceMetricsTests : IDisposable
{
    private readonly SluiceMetrics _metrics = new();
    private readonly PrometheusExporter _exporter;

    public SluiceMetricsTests() =>
        _exporter = new PrometheusExporter(_metrics, new PrometheusExporterOptions { IncludeProcessMetrics = false });

    public void Dispose()
    {
        _exporter.Dispose();
        _metrics.Dispose();
    }

    [Fact]
    public void Transactions_are_counted_per_database_and_route()
    {
        _metrics.TransactionCompleted("shop", "primary");
        _metrics.TransactionCompleted("shop", "primary");
        _metrics.TransactionCompleted("shop", "primary");
        _metrics.TransactionCompleted("shop", "replica");
        _metrics.TransactionCompleted("crm", "primary");

        var lines = ScrapeText.Lines(_exporter.Scrape());

        Assert.Contains("# TYPE sluice_transactions_total counter", lines);
        Assert.Contains("# HELP sluice_transactions_total Transactions completed, by database and the route they took.", lines);
        Assert.Equal(
            ["sluice_transactions_total{database=\"crm\",route=\"primary\"} 1",
             "sluice_transactions_total{database=\"shop\",route=\"primary\"} 3",
             "sluice_transactions_total{database=\"shop\",route=\"replica\"} 1"],
            lines.Where(l => l.StartsWith("sluice_transactions_total", StringComparison.Ordinal)));
    }

    [Fact]
    public void Counters_grow_by_exactly_what_is_recorded_between_scrapes()
    {
        _metrics.TransactionCompleted("shop", "primary");
        Assert.Equal(1, ScrapeText.Value(_exporter.Scrape(), "sluice_transactions_total{database=\"shop\",route=\"primary\"}"));

        _metrics.TransactionCompleted("shop", "primary");
        _metrics.TransactionCompleted("shop", "primary");
        Assert.Equal(3, ScrapeText.Value(_exporter.Scrape(), "sluice_transactions_total{database=\"shop\",route=\"primary\"}"));
    }

    [Fact]
    public void Query_duration_histogram_has_cumulative_buckets_sum_and_count()
    {
        _metrics.QueryCompleted("shop", "replica", 0.0004);
        _metrics.QueryCompleted("shop", "replica", 0.001); // on a bound: counted in le="0.001"
        _metrics.QueryCompleted("shop", "replica", 0.3);
        _metrics.QueryCompleted("shop", "replica", 20);

        var scrape = _exporter.Scrape();
        var lines = ScrapeText.Lines(scrape);

        Assert.Contains("# TYPE sluice_query_duration_seconds histogram", lines);
        const string Labels = "database=\"shop\",route=\"replica\"";
        Assert.Equal(
            [$"sluice_query_duration_seconds_bucket{{{Labels},le=\"0.0005\"}} 1",
             $"sluice_query_duration_seconds_bucket{{{Labels},le=\"0.001\"}} 2",
             $"sluice_query_duration_seconds_bucket{{{Labels},le=\"0.0025\"}} 2",
             $"sluice_query_duration_seconds_bucket{{{Labels},le=\"0.005\"}} 2",
             $"sluice_query_duration_seconds_bucket{{{Labels},le=\"0.01\"}} 2",
             $"sluice_query_duration_seconds_bucket{{{Labels},le=\"0.025\"}} 2",
             $"sluice_query_duration_seconds_bucket{{{Labels},le=\"0.05\"}} 2",
             $"sluice_query_duration_seconds_bucket{{{Labels},le=\"0.1\"}} 2",
             $"sluice_query_duration_seconds_bucket{{{Labels},le=\"0.25\"}} 2",
             $"sluice_query_duration_seconds_bucket{{{Labels},le=\"0.5\"}} 3",
             $"sluice_query_duration_seconds_bucket{{{Labels},le=\"1\"}} 3",
             $"sluice_query_duration_seconds_bucket{{{Labels},le=\"2.5\"}} 3",
             $"sluice_query_duration_seconds_bucket{{{Labels},le=\"5\"}} 3",
             $"sluice_query_duration_seconds_bucket{{{Labels},le=\"10\"}} 3",
             $"sluice_query_duration_seconds_bucket{{{Labels},le=\"+Inf\"}} 4"],
            lines.Where(l => l.StartsWith("sluice_query_duration_seconds_bucket", StringComparison.Ordinal)));
        Assert.Equal(20.3014, ScrapeText.Value(scrape, $"sluice_query_duration_seconds_sum{{{Labels}}}"), 9);
        Assert.Equal(4, ScrapeText.Value(scrape, $"sluice_query_duration_seconds_count{{{Labels}}}"));
        Assert.Equal(4, ScrapeText.Value(scrape, $"sluice_queries_total{{{Labels}}}"));
    }

    [Fact]
    public void Checkout_wait_is_an_unlabelled_histogram()
    {
        _metrics.CheckoutWait(0);
        _metrics.CheckoutWait(0.007);
        _metrics.CheckoutWait(12);

        var scrape = _exporter.Scrape();

        Assert.Contains("# TYPE sluice_checkout_wait_seconds histogram", ScrapeText.Lines(scrape));
        Assert.Equal(1, ScrapeText.Value(scrape, "sluice_checkout_wait_seconds_bucket{le=\"0.0005\"}"));
        Assert.Equal(1, ScrapeText.Value(scrape, "sluice_checkout_wait_seconds_bucket{le=\"0.005\"}"));
        Assert.Equal(2, ScrapeText.Value(scrape, "sluice_checkout_wait_seconds_bucket{le=\"0.01\"}"));
        Assert.Equal(2, ScrapeText.Value(scrape, "sluice_checkout_wait_seconds_bucket{le=\"10\"}"));
        Assert.Equal(3, ScrapeText.Value(scrape, "sluice_checkout_wait_seconds_bucket{le=\"+Inf\"}"));
        Assert.Equal(12.007, ScrapeText.Value(scrape, "sluice_checkout_wait_seconds_sum"), 9);
        Assert.Equal(3, ScrapeText.Value(scrape, "sluice_checkout_wait_seconds_count"));
    }

    [Theory]
    [InlineData("57014", "57")]
    [InlineData("08P01", "08")]
    [InlineData("XX000", "XX")]
    [InlineData("P0001", "P0")]
    [InlineData("5", "unknown")]
    [InlineData("", "unknown")]
    [InlineData("a1000", "unknown")]
    [InlineData("\"}\n00", "unknown")]
    public void Errors_are_counted_by_sqlstate_class(string sqlState, string expectedClass)
    {
        _metrics.Error("shop", sqlState);
        _metrics.Error("shop", sqlState.AsSpan());

        var samples = ScrapeText.Samples(_exporter.Scrape());

        var errorSeries = samples.Where(s => s.Key.StartsWith("sluice_errors_total", StringComparison.Ordinal)).ToList();
        var only = Assert.Single(errorSeries);
        Assert.Equal($"sluice_errors_total{{database=\"shop\",sqlstate_class=\"{expectedClass}\"}}", only.Key);
        Assert.Equal("2", only.Value);
    }

    [Fact]
    public void Statement_timeouts_are_counted_per_database_and_user()
    {
        _metrics.StatementTimeout("shop", "app");
        _metrics.StatementTimeout("shop", "app");
        _metrics.StatementTimeout("shop", "report");

        var scrape = _exporter.Scrape();

        Assert.Equal(2, ScrapeText.Value(scrape, "sluice_statement_timeouts_total{database=\"shop\",user=\"app\"}"));
        Assert.Equal(1, ScrapeText.Value(scrape, "sluice_statement_timeouts_total{database=\"shop\",user=\"report\"}"));
    }

    [Fact]
    public void Every_rejection_reason_is_exported_from_the_start_and_counted()
    {
        string[] reasons =
        [
            "allowlist", "auth_failed", "connection_rate", "database_cap", "draining", "login_timeout", "max_client_connections",
            "max_user_client_connections", "protocol_violation", "unknown_database",
        ];

        var before = ScrapeText.Samples(_exporter.Scrape());
        Assert.Equal(
            reasons.Select(r => $"sluice_rejected_connections_total{{reason=\"{r}\"}}"),
            before.Keys.Where(k => k.StartsWith("sluice_rejected_connections_total", StringComparison.Ordinal)));
        Assert.All(before.Where(s => s.Key.StartsWith("sluice_rejected", StringComparison.Ordinal)), s => Assert.Equal("0", s.Value));

        _metrics.ConnectionRejected(RejectionReason.AuthFailed);
        _metrics.ConnectionRejected(RejectionReason.AuthFailed);
        _metrics.ConnectionRejected(RejectionReason.MaxUserClientConnections);

        var after = _exporter.Scrape();
        Assert.Equal(2, ScrapeText.Value(after, "sluice_rejected_connections_total{reason=\"auth_failed\"}"));
        Assert.Equal(1, ScrapeText.Value(after, "sluice_rejected_connections_total{reason=\"max_user_client_connections\"}"));
        Assert.Equal(0, ScrapeText.Value(after, "sluice_rejected_connections_total{reason=\"draining\"}"));
    }

    [Fact]
    public void Rate_limited_waits_are_counted_per_database_and_user()
    {
        _metrics.RateLimitedWait("shop", "app");
        _metrics.RateLimitedWait("shop", "app");
        _metrics.RateLimitedWait("shop", "report");

        var scrape = _exporter.Scrape();
        Assert.Equal(2, ScrapeText.Value(scrape, "sluice_rate_limited_waits_total{database=\"shop\",user=\"app\"}"));
        Assert.Equal(1, ScrapeText.Value(scrape, "sluice_rate_limited_waits_total{database=\"shop\",user=\"report\"}"));
    }

    [Fact]
    public void Bytes_are_summed_per_direction_and_both_directions_exist_from_the_start()
    {
        var before = _exporter.Scrape();
        Assert.Equal(0, ScrapeText.Value(before, "sluice_bytes_total{direction=\"client_to_server\"}"));
        Assert.Equal(0, ScrapeText.Value(before, "sluice_bytes_total{direction=\"server_to_client\"}"));

        _metrics.BytesTransferred(TrafficDirection.ClientToServer, 100);
        _metrics.BytesTransferred(TrafficDirection.ClientToServer, 23);
        _metrics.BytesTransferred(TrafficDirection.ServerToClient, 5_000_000_000);
        _metrics.BytesTransferred(TrafficDirection.ServerToClient, 0);
        _metrics.BytesTransferred(TrafficDirection.ServerToClient, -7); // a bug upstream must not make a counter go down

        var samples = ScrapeText.Samples(_exporter.Scrape());
        Assert.Equal("123", samples["sluice_bytes_total{direction=\"client_to_server\"}"]);
        Assert.Equal("5000000000", samples["sluice_bytes_total{direction=\"server_to_client\"}"]);
    }

    [Fact]
    public void Gauges_show_what_the_source_reports()
    {
        _metrics.Source = FakeMetricsSource.Typical();

        var lines = ScrapeText.Lines(_exporter.Scrape());

        Assert.Contains("# TYPE sluice_client_connections gauge", lines);
        Assert.Contains("sluice_client_connections{database=\"shop\",state=\"active\",user=\"app\"} 3", lines);
        Assert.Contains("sluice_client_connections{database=\"shop\",state=\"idle\",user=\"app\"} 7", lines);
        Assert.Contains("# TYPE sluice_server_connections gauge", lines);
        Assert.Contains("sluice_server_connections{database=\"shop\",role=\"primary\",server=\"127.0.0.1:5432\",state=\"active\",user=\"app\"} 2", lines);
        Assert.Contains("sluice_server_connections{database=\"shop\",role=\"primary\",server=\"127.0.0.1:5432\",state=\"idle\",user=\"app\"} 5", lines);
        Assert.Contains("sluice_server_connections{database=\"shop\",role=\"replica\",server=\"127.0.0.1:5433\",state=\"idle\",user=\"app\"} 4", lines);
        Assert.Contains("# TYPE sluice_pool_waiting_clients gauge", lines);
        Assert.Contains("sluice_pool_waiting_clients{database=\"shop\",user=\"app\"} 1", lines);
        Assert.Contains("# TYPE sluice_server_up gauge", lines);
        Assert.Contains("sluice_server_up{database=\"shop\",role=\"primary\",server=\"127.0.0.1:5432\"} 1", lines);
        Assert.Contains("sluice_server_up{database=\"shop\",role=\"replica\",server=\"127.0.0.1:5433\"} 1", lines);
        Assert.Contains("sluice_server_up{database=\"shop\",role=\"replica\",server=\"127.0.0.1:5434\"} 0", lines);
        Assert.Contains("# TYPE sluice_replica_lag_seconds gauge", lines);
        Assert.Contains("# TYPE sluice_replica_lag_bytes gauge", lines);

        // Only the replica with a measured lag has lag samples.
        Assert.Equal(["sluice_replica_lag_seconds{database=\"shop\",server=\"127.0.0.1:5433\"} 0.25"], lines.Where(l => l.StartsWith("sluice_replica_lag_seconds", StringComparison.Ordinal)));
        Assert.Equal(["sluice_replica_lag_bytes{database=\"shop\",server=\"127.0.0.1:5433\"} 8192"], lines.Where(l => l.StartsWith("sluice_replica_lag_bytes", StringComparison.Ordinal)));
    }

    [Fact]
    public void Gauges_follow_the_source_and_forget_series_it_no_longer_reports()
    {
        var source = FakeMetricsSource.Typical();
        _metrics.Source = source;
        Assert.Equal(3, ScrapeText.SeriesOf(_exporter.Scrape(), "sluice_server_up").Length);

        source.Servers.RemoveAt(2);
        source.Servers[1] = source.Servers[1] with { Up = false, LagSeconds = 4.5 };
        source.ClientConnections[0] = source.ClientConnections[0] with { Count = 40 };

        var scrape = _exporter.Scrape();
        Assert.Equal(
            ["sluice_server_up{database=\"shop\",role=\"primary\",server=\"127.0.0.1:5432\"}", "sluice_server_up{database=\"shop\",role=\"replica\",server=\"127.0.0.1:5433\"}"],
            ScrapeText.SeriesOf(scrape, "sluice_server_up"));
        Assert.Equal(0, ScrapeText.Value(scrape, "sluice_server_up{database=\"shop\",role=\"replica\",server=\"127.0.0.1:5433\"}"));
        Assert.Equal(4.5, ScrapeText.Value(scrape, "sluice_replica_lag_seconds{database=\"shop\",server=\"127.0.0.1:5433\"}"));
        Assert.Equal(40, ScrapeText.Value(scrape, "sluice_client_connections{database=\"shop\",state=\"active\",user=\"app\"}"));

        _metrics.Source = null;
        var withoutSource = _exporter.Scrape();
        Assert.DoesNotContain("sluice_server_up", withoutSource, StringComparison.Ordinal);
        Assert.DoesNotContain("sluice_client_connections", withoutSource, StringComparison.Ordinal);
    }

    [Fact]
    public void A_failing_source_costs_its_own_gauges_only()
    {
        var source = FakeMetricsSource.Typical();
        source.ThrowFromServers = true;
        _metrics.Source = source;
        _metrics.TransactionCompleted("shop", "primary");

        var scrape = _exporter.Scrape();

        Assert.Empty(ScrapeText.SeriesOf(scrape, "sluice_server_up"));
        Assert.Equal(3, ScrapeText.Value(scrape, "sluice_client_connections{database=\"shop\",state=\"active\",user=\"app\"}"));
        Assert.Equal(1, ScrapeText.Value(scrape, "sluice_transactions_total{database=\"shop\",route=\"primary\"}"));
        Assert.Equal(1, ScrapeText.Value(scrape, "sluice_metrics_collect_errors_total"));
    }

    [Fact]
    public void Two_instances_in_one_process_do_not_see_each_other()
    {
        using var other = new SluiceMetrics(FakeMetricsSource.Typical());
        using var otherExporter = new PrometheusExporter(other, new PrometheusExporterOptions { IncludeProcessMetrics = false });

        _metrics.TransactionCompleted("shop", "primary");
        other.TransactionCompleted("crm", "replica");
        other.TransactionCompleted("crm", "replica");

        var mine = _exporter.Scrape();
        var theirs = otherExporter.Scrape();

        Assert.Equal(["sluice_transactions_total{database=\"shop\",route=\"primary\"}"], ScrapeText.SeriesOf(mine, "sluice_transactions_total"));
        Assert.Equal(["sluice_transactions_total{database=\"crm\",route=\"replica\"}"], ScrapeText.SeriesOf(theirs, "sluice_transactions_total"));
        Assert.Equal(2, ScrapeText.Value(theirs, "sluice_transactions_total{database=\"crm\",route=\"replica\"}"));
        Assert.DoesNotContain("sluice_server_up", mine, StringComparison.Ordinal);
        Assert.Contains("sluice_server_up", theirs, StringComparison.Ordinal);
    }

    [Fact]
    public void Recording_on_the_data_path_allocates_nothing_once_a_series_exists()
    {
        void RecordAll()
        {
            _metrics.TransactionCompleted("shop", "primary");
            _metrics.QueryCompleted("shop", "replica", 0.002);
            _metrics.Error("shop", "57014");
            _metrics.StatementTimeout("shop", "app");
            _metrics.ConnectionRejected(RejectionReason.LoginTimeout);
            _metrics.BytesTransferred(TrafficDirection.ServerToClient, 8192);
            _metrics.CheckoutWait(0.0001);
        }

        RecordAll();
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            RecordAll();
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(1001, ScrapeText.Value(_exporter.Scrape(), "sluice_queries_total{database=\"shop\",route=\"replica\"}"));
    }

    [Fact]
    public void The_meter_is_named_Sluice_and_exported_names_match_the_contract()
    {
        Assert.Equal("Sluice", _metrics.Meter.Name);
        _metrics.Source = FakeMetricsSource.Typical();
        _metrics.TransactionCompleted("shop", "primary");
        _metrics.QueryCompleted("shop", "primary", 0.01);
        _metrics.Error("shop", "57014");
        _metrics.StatementTimeout("shop", "app");
        _metrics.CheckoutWait(0.001);

        var families = ScrapeText.Lines(_exporter.Scrape())
            .Where(l => l.StartsWith("# TYPE ", StringComparison.Ordinal))
            .Select(l => l["# TYPE ".Length..])
            .ToArray();

        Assert.Equal(
            [
                "sluice_bytes_total counter",
                "sluice_checkout_wait_seconds histogram",
                "sluice_client_connections gauge",
                "sluice_errors_total counter",
                "sluice_pool_waiting_clients gauge",
                "sluice_queries_total counter",
                "sluice_query_duration_seconds histogram",
                "sluice_rejected_connections_total counter",
                "sluice_replica_lag_bytes gauge",
                "sluice_replica_lag_seconds gauge",
                "sluice_server_connections gauge",
                "sluice_server_up gauge",
                "sluice_statement_timeouts_total counter",
                "sluice_transactions_total counter",
            ],
            families);
    }
}
