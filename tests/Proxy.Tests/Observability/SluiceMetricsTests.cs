using Sluice.Proxy.Observability;

namespace Sluice.Proxy.Tests.Observability;

public sealed class SluiceMetricsTests
{
    private readonly SluiceMetrics _metrics = new();

    [Fact]
    public async Task Transactions_are_counted_per_database_and_route()
    {
        _metrics.TransactionCompleted("shop", "primary");
        _metrics.TransactionCompleted("shop", "primary");
        _metrics.TransactionCompleted("shop", "primary");
        _metrics.TransactionCompleted("shop", "replica");
        _metrics.TransactionCompleted("crm", "primary");

        var lines = ScrapeText.Lines(await _metrics.ScrapeAsync());

        Assert.Contains("# TYPE sluice_transactions_total counter", lines);
        Assert.Contains("# HELP sluice_transactions_total Transactions completed, by database and the route they took.", lines);
        Assert.Equal(
            ["sluice_transactions_total{database=\"crm\",route=\"primary\"} 1",
             "sluice_transactions_total{database=\"shop\",route=\"primary\"} 3",
             "sluice_transactions_total{database=\"shop\",route=\"replica\"} 1"],
            lines.Where(l => l.StartsWith("sluice_transactions_total", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Counters_grow_by_exactly_what_is_recorded_between_scrapes()
    {
        _metrics.TransactionCompleted("shop", "primary");
        Assert.Equal(1, ScrapeText.Value(await _metrics.ScrapeAsync(), "sluice_transactions_total{database=\"shop\",route=\"primary\"}"));

        _metrics.TransactionCompleted("shop", "primary");
        _metrics.TransactionCompleted("shop", "primary");
        Assert.Equal(3, ScrapeText.Value(await _metrics.ScrapeAsync(), "sluice_transactions_total{database=\"shop\",route=\"primary\"}"));
    }

    [Fact]
    public async Task Query_duration_histogram_has_cumulative_buckets_sum_and_count()
    {
        _metrics.QueryCompleted("shop", "replica", 0.0004);
        _metrics.QueryCompleted("shop", "replica", 0.001); // on a bound: counted in le="0.001"
        _metrics.QueryCompleted("shop", "replica", 0.3);
        _metrics.QueryCompleted("shop", "replica", 20);

        var scrape = await _metrics.ScrapeAsync();
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
    public async Task Checkout_wait_is_an_unlabelled_histogram()
    {
        _metrics.CheckoutWait(0);
        _metrics.CheckoutWait(0.007);
        _metrics.CheckoutWait(12);

        var scrape = await _metrics.ScrapeAsync();

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
    public async Task Errors_are_counted_by_sqlstate_class(string sqlState, string expectedClass)
    {
        _metrics.Error("shop", sqlState);
        _metrics.Error("shop", sqlState.AsSpan());

        var samples = ScrapeText.Samples(await _metrics.ScrapeAsync());

        var errorSeries = samples.Where(s => s.Key.StartsWith("sluice_errors_total", StringComparison.Ordinal)).ToList();
        var only = Assert.Single(errorSeries);
        Assert.Equal($"sluice_errors_total{{database=\"shop\",sqlstate_class=\"{expectedClass}\"}}", only.Key);
        Assert.Equal("2", only.Value);
    }

    [Theory]
    [InlineData("sluice_statement_timeouts_total")]
    [InlineData("sluice_rate_limited_waits_total")]
    public async Task Statement_timeouts_and_rate_limited_waits_are_counted_per_database_and_user(string metric)
    {
        Action<string, string> record = metric == "sluice_statement_timeouts_total" ? _metrics.StatementTimeout : _metrics.RateLimitedWait;
        record("shop", "app");
        record("shop", "app");
        record("shop", "report");

        var scrape = await _metrics.ScrapeAsync();

        Assert.Equal(2, ScrapeText.Value(scrape, metric + "{database=\"shop\",user=\"app\"}"));
        Assert.Equal(1, ScrapeText.Value(scrape, metric + "{database=\"shop\",user=\"report\"}"));
    }

    [Fact]
    public async Task Every_rejection_reason_is_exported_from_the_start_and_counted()
    {
        string[] reasons =
        [
            "allowlist", "auth_failed", "connection_rate", "database_cap", "draining", "login_timeout", "max_client_connections",
            "max_user_client_connections", "protocol_violation", "unknown_database",
        ];

        var before = ScrapeText.Samples(await _metrics.ScrapeAsync());
        Assert.Equal(
            reasons.Select(r => $"sluice_rejected_connections_total{{reason=\"{r}\"}}"),
            before.Keys.Where(k => k.StartsWith("sluice_rejected_connections_total", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
        Assert.All(before.Where(s => s.Key.StartsWith("sluice_rejected", StringComparison.Ordinal)), s => Assert.Equal("0", s.Value));

        _metrics.ConnectionRejected(RejectionReason.AuthFailed);
        _metrics.ConnectionRejected(RejectionReason.AuthFailed);
        _metrics.ConnectionRejected(RejectionReason.MaxUserClientConnections);
        _metrics.ConnectionRejected(RejectionReason.DatabaseCap);
        _metrics.ConnectionRejected(RejectionReason.ConnectionRate);
        _metrics.ConnectionRejected(RejectionReason.ConnectionRate);

        var after = await _metrics.ScrapeAsync();
        Assert.Equal(1, ScrapeText.Value(after, "sluice_rejected_connections_total{reason=\"database_cap\"}"));
        Assert.Equal(2, ScrapeText.Value(after, "sluice_rejected_connections_total{reason=\"connection_rate\"}"));
        Assert.Equal(2, ScrapeText.Value(after, "sluice_rejected_connections_total{reason=\"auth_failed\"}"));
        Assert.Equal(1, ScrapeText.Value(after, "sluice_rejected_connections_total{reason=\"max_user_client_connections\"}"));
        Assert.Equal(0, ScrapeText.Value(after, "sluice_rejected_connections_total{reason=\"draining\"}"));
    }

    [Fact]
    public async Task Bytes_are_summed_per_direction_and_both_directions_exist_from_the_start()
    {
        var before = await _metrics.ScrapeAsync();
        Assert.Equal(0, ScrapeText.Value(before, "sluice_bytes_total{direction=\"client_to_server\"}"));
        Assert.Equal(0, ScrapeText.Value(before, "sluice_bytes_total{direction=\"server_to_client\"}"));

        _metrics.BytesTransferred(TrafficDirection.ClientToServer, 100);
        _metrics.BytesTransferred(TrafficDirection.ClientToServer, 23);
        _metrics.BytesTransferred(TrafficDirection.ServerToClient, 5_000_000_000);
        _metrics.BytesTransferred(TrafficDirection.ServerToClient, 0);
        _metrics.BytesTransferred(TrafficDirection.ServerToClient, -7); // a bug upstream must not make a counter go down

        var samples = ScrapeText.Samples(await _metrics.ScrapeAsync());
        Assert.Equal("123", samples["sluice_bytes_total{direction=\"client_to_server\"}"]);
        Assert.Equal("5000000000", samples["sluice_bytes_total{direction=\"server_to_client\"}"]);
    }

    [Fact]
    public async Task Gauges_show_what_the_source_reports()
    {
        _metrics.Source = FakeMetricsSource.Typical();

        var lines = ScrapeText.Lines(await _metrics.ScrapeAsync());

        Assert.Contains("# TYPE sluice_client_connections gauge", lines);
        Assert.Contains("sluice_client_connections{database=\"shop\",user=\"app\",state=\"active\"} 3", lines);
        Assert.Contains("sluice_client_connections{database=\"shop\",user=\"app\",state=\"idle\"} 7", lines);
        Assert.Contains("# TYPE sluice_server_connections gauge", lines);
        Assert.Contains("sluice_server_connections{database=\"shop\",user=\"app\",server=\"127.0.0.1:5432\",role=\"primary\",state=\"active\"} 2", lines);
        Assert.Contains("sluice_server_connections{database=\"shop\",user=\"app\",server=\"127.0.0.1:5432\",role=\"primary\",state=\"idle\"} 5", lines);
        Assert.Contains("sluice_server_connections{database=\"shop\",user=\"app\",server=\"127.0.0.1:5433\",role=\"replica\",state=\"idle\"} 4", lines);
        Assert.Contains("# TYPE sluice_pool_waiting_clients gauge", lines);
        Assert.Contains("sluice_pool_waiting_clients{database=\"shop\",user=\"app\"} 1", lines);
        Assert.Contains("# TYPE sluice_server_up gauge", lines);
        Assert.Contains("sluice_server_up{database=\"shop\",server=\"127.0.0.1:5432\",role=\"primary\"} 1", lines);
        Assert.Contains("sluice_server_up{database=\"shop\",server=\"127.0.0.1:5433\",role=\"replica\"} 1", lines);
        Assert.Contains("sluice_server_up{database=\"shop\",server=\"127.0.0.1:5434\",role=\"replica\"} 0", lines);
        Assert.Contains("# TYPE sluice_replica_lag_seconds gauge", lines);
        Assert.Contains("# TYPE sluice_replica_lag_bytes gauge", lines);

        // Only the replica with a measured lag has lag samples.
        Assert.Equal(["sluice_replica_lag_seconds{database=\"shop\",server=\"127.0.0.1:5433\"} 0.25"], lines.Where(l => l.StartsWith("sluice_replica_lag_seconds", StringComparison.Ordinal)));
        Assert.Equal(["sluice_replica_lag_bytes{database=\"shop\",server=\"127.0.0.1:5433\"} 8192"], lines.Where(l => l.StartsWith("sluice_replica_lag_bytes", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Reads_are_counted_by_where_they_ran_with_waits_and_fallbacks_and_exist_from_the_first_scrape()
    {
        _metrics.Source = FakeMetricsSource.Typical();
        var start = ScrapeText.Lines(await _metrics.ScrapeAsync());

        // Every database with a server has its read series at 0 before the first read.
        Assert.Contains("sluice_reads_total{database=\"shop\",route=\"replica\"} 0", start);
        Assert.Contains("sluice_reads_total{database=\"shop\",route=\"primary\"} 0", start);
        Assert.Contains("sluice_read_floor_waits_total{database=\"shop\"} 0", start);
        Assert.Contains("sluice_read_floor_fallbacks_total{database=\"shop\"} 0", start);

        _metrics.ReadRouted("shop", onReplica: true);
        _metrics.ReadRouted("shop", onReplica: true);
        _metrics.ReadFloorWait("shop");
        _metrics.ReadFloorFallback("shop");
        _metrics.ReadRouted("shop", onReplica: false);
        var lines = ScrapeText.Lines(await _metrics.ScrapeAsync());

        Assert.Contains("sluice_reads_total{database=\"shop\",route=\"replica\"} 2", lines);
        Assert.Contains("sluice_reads_total{database=\"shop\",route=\"primary\"} 1", lines);
        Assert.Contains("sluice_read_floor_waits_total{database=\"shop\"} 1", lines);
        Assert.Contains("sluice_read_floor_fallbacks_total{database=\"shop\"} 1", lines);
    }

    [Fact]
    public async Task Wal_positions_and_the_read_floor_are_byte_offsets()
    {
        _metrics.Source = FakeMetricsSource.Typical();

        var lines = ScrapeText.Lines(await _metrics.ScrapeAsync());

        // 0/3000060 and 0/3000000; the down replica has no position and no series.
        Assert.Equal(
            ["sluice_server_wal_lsn{database=\"shop\",server=\"127.0.0.1:5432\",role=\"primary\"} 50331744",
             "sluice_server_wal_lsn{database=\"shop\",server=\"127.0.0.1:5433\",role=\"replica\"} 50331648"],
            lines.Where(l => l.StartsWith("sluice_server_wal_lsn{", StringComparison.Ordinal)));
        Assert.Equal(["sluice_read_floor_lsn{database=\"shop\"} 50331712"], lines.Where(l => l.StartsWith("sluice_read_floor_lsn{", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Gauges_follow_the_source_and_forget_series_it_no_longer_reports()
    {
        var source = FakeMetricsSource.Typical();
        _metrics.Source = source;
        Assert.Equal(3, ScrapeText.SeriesOf(await _metrics.ScrapeAsync(), "sluice_server_up").Length);

        source.Servers.RemoveAt(2);
        source.Servers[1] = source.Servers[1] with { Up = false, LagSeconds = 4.5 };
        source.ClientConnections[0] = source.ClientConnections[0] with { Count = 40 };

        var scrape = await _metrics.ScrapeAsync();
        Assert.Equal(
            ["sluice_server_up{database=\"shop\",server=\"127.0.0.1:5432\",role=\"primary\"}", "sluice_server_up{database=\"shop\",server=\"127.0.0.1:5433\",role=\"replica\"}"],
            ScrapeText.SeriesOf(scrape, "sluice_server_up"));
        Assert.Equal(0, ScrapeText.Value(scrape, "sluice_server_up{database=\"shop\",server=\"127.0.0.1:5433\",role=\"replica\"}"));
        Assert.Equal(4.5, ScrapeText.Value(scrape, "sluice_replica_lag_seconds{database=\"shop\",server=\"127.0.0.1:5433\"}"));
        Assert.Equal(40, ScrapeText.Value(scrape, "sluice_client_connections{database=\"shop\",user=\"app\",state=\"active\"}"));

        _metrics.Source = null;
        var withoutSource = await _metrics.ScrapeAsync();
        Assert.Empty(ScrapeText.SeriesOf(withoutSource, "sluice_server_up"));
        Assert.Empty(ScrapeText.SeriesOf(withoutSource, "sluice_client_connections"));
        Assert.Empty(ScrapeText.SeriesOf(withoutSource, "sluice_replica_lag_seconds"));
    }

    [Fact]
    public async Task A_failing_source_costs_its_own_gauges_only()
    {
        var source = FakeMetricsSource.Typical();
        source.ThrowFromServers = true;
        _metrics.Source = source;
        _metrics.TransactionCompleted("shop", "primary");

        var scrape = await _metrics.ScrapeAsync();

        Assert.Empty(ScrapeText.SeriesOf(scrape, "sluice_server_up"));
        Assert.Equal(3, ScrapeText.Value(scrape, "sluice_client_connections{database=\"shop\",user=\"app\",state=\"active\"}"));
        Assert.Equal(1, ScrapeText.Value(scrape, "sluice_transactions_total{database=\"shop\",route=\"primary\"}"));
        Assert.Equal(1, ScrapeText.Value(scrape, "sluice_metrics_collect_errors_total"));
    }

    [Fact]
    public async Task Two_instances_in_one_process_do_not_see_each_other()
    {
        var other = new SluiceMetrics(FakeMetricsSource.Typical());

        _metrics.TransactionCompleted("shop", "primary");
        other.TransactionCompleted("crm", "replica");
        other.TransactionCompleted("crm", "replica");

        var mine = await _metrics.ScrapeAsync();
        var theirs = await other.ScrapeAsync();

        Assert.Equal(["sluice_transactions_total{database=\"shop\",route=\"primary\"}"], ScrapeText.SeriesOf(mine, "sluice_transactions_total"));
        Assert.Equal(["sluice_transactions_total{database=\"crm\",route=\"replica\"}"], ScrapeText.SeriesOf(theirs, "sluice_transactions_total"));
        Assert.Equal(2, ScrapeText.Value(theirs, "sluice_transactions_total{database=\"crm\",route=\"replica\"}"));
        Assert.Empty(ScrapeText.SeriesOf(mine, "sluice_server_up"));
        Assert.Equal(3, ScrapeText.SeriesOf(theirs, "sluice_server_up").Length);
    }

    [Fact]
    public async Task Recording_on_the_data_path_allocates_nothing_once_a_series_exists()
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
        for (var i = 0; i < 10_000; i++)
        {
            RecordAll();
        }

        // Nothing per call: 10,000 rounds of seven calls may not allocate even one byte per round. (A one-off of a
        // few dozen bytes was seen once in a full-suite run, from something lazily made on the recording path.)
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 10_000, $"{allocated} bytes allocated by 70,000 recording calls");
        Assert.Equal(10_001, ScrapeText.Value(await _metrics.ScrapeAsync(), "sluice_queries_total{database=\"shop\",route=\"replica\"}"));
    }

    [Fact]
    public async Task Exported_names_types_and_labels_match_the_documented_ones()
    {
        _metrics.Source = FakeMetricsSource.Typical();
        _metrics.TransactionCompleted("shop", "primary");
        _metrics.Error("shop", "57014");
        _metrics.StatementTimeout("shop", "app");
        _metrics.RateLimitedWait("shop", "app");

        var scrape = await _metrics.ScrapeAsync();
        var families = ScrapeText.Lines(scrape)
            .Where(l => l.StartsWith("# TYPE ", StringComparison.Ordinal))
            .Select(l => l["# TYPE ".Length..])
            .Order(StringComparer.Ordinal)
            .ToArray();

        string[] expected =
        [
            "process_cpu_seconds_total counter",
            "process_max_fds gauge",
            "process_open_fds gauge",
            "process_resident_memory_bytes gauge",
            "process_start_time_seconds gauge",
            "sluice_bytes_total counter",
            "sluice_checkout_wait_seconds histogram",
            "sluice_client_connections gauge",
            "sluice_clients_pinned gauge",
            "sluice_errors_total counter",
            "sluice_failover_wait_seconds histogram",
            "sluice_failovers_total counter",
            "sluice_metrics_collect_errors_total counter",
            "sluice_metrics_dropped_measurements_total counter",
            "sluice_pool_waiting_clients gauge",
            "sluice_queries_total counter",
            "sluice_query_duration_seconds histogram",
            "sluice_rate_limited_waits_total counter",
            "sluice_read_floor_fallbacks_total counter",
            "sluice_read_floor_lsn gauge",
            "sluice_read_floor_waits_total counter",
            "sluice_reads_total counter",
            "sluice_rejected_connections_total counter",
            "sluice_replica_lag_bytes gauge",
            "sluice_replica_lag_seconds gauge",
            "sluice_server_connections gauge",
            "sluice_server_up gauge",
            "sluice_server_wal_lsn gauge",
            "sluice_statement_timeouts_total counter",
            "sluice_transactions_total counter",
        ];
        Assert.Equal(OperatingSystem.IsLinux() ? expected : [.. expected.Where(f => !f.Contains("_fds", StringComparison.Ordinal))], families);

        // Label names per family, as the operations guide documents them (order as written there).
        string LabelsOf(string metric) =>
            string.Join(',', ScrapeText.SeriesOf(scrape, metric)[0].Split('{')[1].TrimEnd('}').Split(',').Select(l => l.Split('=')[0]));
        Assert.Equal("database,route", LabelsOf("sluice_transactions_total"));
        Assert.Equal("database,route", LabelsOf("sluice_queries_total"));
        Assert.Equal("database,route", LabelsOf("sluice_query_duration_seconds_count"));
        Assert.Equal("database,sqlstate_class", LabelsOf("sluice_errors_total"));
        Assert.Equal("database,user", LabelsOf("sluice_statement_timeouts_total"));
        Assert.Equal("database,user", LabelsOf("sluice_rate_limited_waits_total"));
        Assert.Equal("reason", LabelsOf("sluice_rejected_connections_total"));
        Assert.Equal("direction", LabelsOf("sluice_bytes_total"));
        Assert.Equal("database,user,state", LabelsOf("sluice_client_connections"));
        Assert.Equal("database,user,server,role,state", LabelsOf("sluice_server_connections"));
        Assert.Equal("database,user", LabelsOf("sluice_pool_waiting_clients"));
        Assert.Equal("database,server,role", LabelsOf("sluice_server_up"));
        Assert.Equal("database,server", LabelsOf("sluice_replica_lag_seconds"));
        Assert.Equal("database,server", LabelsOf("sluice_replica_lag_bytes"));
        Assert.Equal("metric", LabelsOf("sluice_metrics_dropped_measurements_total"));
    }

    [Fact]
    public async Task Label_values_from_the_config_are_escaped()
    {
        _metrics.TransactionCompleted("a\\b\"c\nd", "primary");

        Assert.Contains(
            "sluice_transactions_total{database=\"a\\\\b\\\"c\\nd\",route=\"primary\"} 1",
            ScrapeText.Lines(await _metrics.ScrapeAsync()));
    }

    [Fact]
    public async Task Distinct_label_sets_are_capped_and_overflow_is_counted()
    {
        var databases = Enumerable.Range(0, SluiceMetrics.MaxSeriesPerMetric + 3).Select(i => $"db{i}").ToArray();
        foreach (var database in databases)
        {
            _metrics.TransactionCompleted(database, "primary");
            _metrics.StatementTimeout(database, "app");
            _metrics.RateLimitedWait(database, "app");
        }

        _metrics.TransactionCompleted("db0", "primary"); // an existing series keeps counting
        _metrics.QueryCompleted(databases[^1], "primary", 0.01); // over the cap: both the count and the duration drop

        var scrape = await _metrics.ScrapeAsync();
        Assert.Equal(SluiceMetrics.MaxSeriesPerMetric, ScrapeText.SeriesOf(scrape, "sluice_transactions_total").Length);
        Assert.Equal(2, ScrapeText.Value(scrape, "sluice_transactions_total{database=\"db0\",route=\"primary\"}"));
        Assert.DoesNotContain($"database=\"{databases[^1]}\"", scrape, StringComparison.Ordinal);
        Assert.Equal(3, ScrapeText.Value(scrape, "sluice_metrics_dropped_measurements_total{metric=\"sluice_transactions_total\"}"));
        Assert.Equal(3, ScrapeText.Value(scrape, "sluice_metrics_dropped_measurements_total{metric=\"sluice_statement_timeouts_total\"}"));
        Assert.Equal(3, ScrapeText.Value(scrape, "sluice_metrics_dropped_measurements_total{metric=\"sluice_rate_limited_waits_total\"}"));
        Assert.Equal(1, ScrapeText.Value(scrape, "sluice_metrics_dropped_measurements_total{metric=\"sluice_queries_total\"}"));
        Assert.Equal(1, ScrapeText.Value(scrape, "sluice_metrics_dropped_measurements_total{metric=\"sluice_query_duration_seconds\"}"));
        Assert.Equal(0, ScrapeText.Value(scrape, "sluice_metrics_dropped_measurements_total{metric=\"sluice_errors_total\"}"));
    }

    [Fact]
    public async Task Concurrent_recording_loses_nothing_while_scrapes_run()
    {
        const int Threads = 4;
        const int PerThread = 20_000;
        string[] databases = ["a", "b", "c"];

        using var done = new CancellationTokenSource();
        var scraper = Task.Run(async () =>
        {
            var scrapes = 0;
            while (!done.IsCancellationRequested || scrapes == 0)
            {
                _ = ScrapeText.Samples(await _metrics.ScrapeAsync());
                scrapes++;
            }

            return scrapes;
        });

        var writers = Enumerable.Range(0, Threads).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < PerThread; i++)
            {
                var database = databases[(i + t) % databases.Length];
                _metrics.QueryCompleted(database, "primary", i % 2 == 0 ? 0.0002 : 1);
                _metrics.BytesTransferred(TrafficDirection.ClientToServer, 3);
            }
        })).ToArray();
        await Task.WhenAll(writers).WaitAsync(TimeSpan.FromMinutes(1));
        await done.CancelAsync();
        Assert.True(await scraper.WaitAsync(TimeSpan.FromMinutes(1)) > 0);

        var scrape = await _metrics.ScrapeAsync();
        double SumOver(Func<string, string> series) => databases.Sum(d => ScrapeText.Value(scrape, series($"database=\"{d}\",route=\"primary\"")));
        Assert.Equal(Threads * PerThread, SumOver(l => $"sluice_queries_total{{{l}}}"));
        Assert.Equal(Threads * PerThread, SumOver(l => $"sluice_query_duration_seconds_count{{{l}}}"));
        Assert.Equal(Threads * PerThread, SumOver(l => $"sluice_query_duration_seconds_bucket{{{l},le=\"+Inf\"}}"));
        Assert.Equal(Threads * PerThread / 2, SumOver(l => $"sluice_query_duration_seconds_bucket{{{l},le=\"0.0005\"}}"));
        Assert.Equal(Threads * PerThread / 2 * 1.0002, SumOver(l => $"sluice_query_duration_seconds_sum{{{l}}}"), 6);
        Assert.Equal(Threads * PerThread * 3, ScrapeText.Value(scrape, "sluice_bytes_total{direction=\"client_to_server\"}"));
    }

    [Fact]
    public async Task Process_metrics_describe_this_process()
    {
        var scrape = await _metrics.ScrapeAsync();

        Assert.True(ScrapeText.Value(scrape, "process_cpu_seconds_total") > 0);
        Assert.True(ScrapeText.Value(scrape, "process_resident_memory_bytes") > 1024 * 1024);
        Assert.True(ScrapeText.Value(scrape, "process_start_time_seconds") > 1_600_000_000);
        if (OperatingSystem.IsLinux())
        {
            Assert.True(ScrapeText.Value(scrape, "process_open_fds") > 2);
            Assert.True(ScrapeText.Value(scrape, "process_max_fds") >= ScrapeText.Value(scrape, "process_open_fds"));
        }
    }
}
