using System.Diagnostics.Metrics;
using Sluice.Proxy.Observability;

namespace Sluice.Proxy.Tests.Observability;

public sealed class PrometheusExporterTests : IDisposable
{
    private static readonly PrometheusExporterOptions s_noProcess = new() { IncludeProcessMetrics = false };

    private readonly Meter _meter = new("Sluice");

    public void Dispose() => _meter.Dispose();

    [Fact]
    public void Label_values_escape_backslash_quote_and_newline()
    {
        var counter = _meter.CreateCounter<long>("escaped", null, "Help with a \\ backslash\nand a newline.");
        using var exporter = new PrometheusExporter(_meter, s_noProcess);

        counter.Add(1, new KeyValuePair<string, object?>("value", "a\\b\"c\nd"));

        var lines = ScrapeText.Lines(exporter.Scrape());
        Assert.Equal(
            ["# HELP escaped_total Help with a \\\\ backslash\\nand a newline.", "# TYPE escaped_total counter", "escaped_total{value=\"a\\\\b\\\"c\\nd\"} 1"],
            lines);
    }

    [Fact]
    public void Labels_are_sorted_and_the_same_set_in_another_order_is_the_same_series()
    {
        var counter = _meter.CreateCounter<long>("ordered", null, "Ordered.");
        using var exporter = new PrometheusExporter(_meter, s_noProcess);

        counter.Add(1, new KeyValuePair<string, object?>("zeta", "1"), new KeyValuePair<string, object?>("alpha", "2"));
        counter.Add(2, new KeyValuePair<string, object?>("alpha", "2"), new KeyValuePair<string, object?>("zeta", "1"));

        var samples = ScrapeText.Samples(exporter.Scrape());
        Assert.Equal("3", Assert.Single(samples, s => s.Key.StartsWith("ordered", StringComparison.Ordinal)).Value);
        Assert.True(samples.ContainsKey("ordered_total{alpha=\"2\",zeta=\"1\"}"));
    }

    [Fact]
    public void Names_and_label_names_are_made_valid_and_non_string_label_values_are_formatted_invariantly()
    {
        var counter = _meter.CreateCounter<long>("my.metric-name", null, "Odd name.");
        using var exporter = new PrometheusExporter(_meter, s_noProcess);

        counter.Add(5, new KeyValuePair<string, object?>("http.status", 503), new KeyValuePair<string, object?>("ratio", 0.5));

        Assert.Contains("my_metric_name_total{http_status=\"503\",ratio=\"0.5\"} 5", ScrapeText.Lines(exporter.Scrape()));
    }

    [Fact]
    public void Up_down_counters_sum_gauges_keep_the_last_value_and_double_counters_keep_fractions()
    {
        var upDown = _meter.CreateUpDownCounter<long>("in_flight", null, "In flight.");
        var gauge = _meter.CreateGauge<double>("temperature_celsius", null, "Last reading.");
        var seconds = _meter.CreateCounter<double>("busy_seconds", null, "Busy time.");
        using var exporter = new PrometheusExporter(_meter, s_noProcess);

        upDown.Add(5);
        upDown.Add(-2);
        gauge.Record(20.5);
        gauge.Record(-3.25);
        seconds.Add(0.5);
        seconds.Add(0.25);

        var lines = ScrapeText.Lines(exporter.Scrape());
        Assert.Contains("# TYPE in_flight gauge", lines);
        Assert.Contains("in_flight 3", lines);
        Assert.Contains("# TYPE temperature_celsius gauge", lines);
        Assert.Contains("temperature_celsius -3.25", lines);
        Assert.Contains("# TYPE busy_seconds_total counter", lines);
        Assert.Contains("busy_seconds_total 0.75", lines);
    }

    [Fact]
    public void Observable_counters_report_their_running_total_with_total_suffix()
    {
        long total = 0;
        _meter.CreateObservableCounter("restarts_total", () => total, null, "Restarts.");
        using var exporter = new PrometheusExporter(_meter, s_noProcess);

        total = 4;
        Assert.Contains("restarts_total 4", ScrapeText.Lines(exporter.Scrape()));
        total = 6;
        var lines = ScrapeText.Lines(exporter.Scrape());
        Assert.Contains("# TYPE restarts_total counter", lines);
        Assert.Contains("restarts_total 6", lines);
    }

    [Fact]
    public void Histograms_use_advised_boundaries_or_prometheus_defaults()
    {
        var advised = _meter.CreateHistogram("advised_bytes", null, "Sizes.", tags: null, advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [100, 1000] });
        var plain = _meter.CreateHistogram<double>("plain_seconds", null, "Durations.");
        using var exporter = new PrometheusExporter(_meter, s_noProcess);

        advised.Record(50);
        advised.Record(100);
        advised.Record(5000);
        plain.Record(0.07);
        plain.Record(double.NaN); // not a duration: ignored

        var lines = ScrapeText.Lines(exporter.Scrape());
        Assert.Equal(
            ["advised_bytes_bucket{le=\"100\"} 2", "advised_bytes_bucket{le=\"1000\"} 2", "advised_bytes_bucket{le=\"+Inf\"} 3", "advised_bytes_sum 5150", "advised_bytes_count 3"],
            lines.Where(l => l.StartsWith("advised_bytes", StringComparison.Ordinal)));
        Assert.Equal(
            ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"],
            lines.Where(l => l.StartsWith("plain_seconds_bucket", StringComparison.Ordinal)).Select(l => l.Split('"')[1]));
        Assert.Contains("plain_seconds_bucket{le=\"0.1\"} 1", lines);
        Assert.Contains("plain_seconds_bucket{le=\"0.05\"} 0", lines);
        Assert.Contains("plain_seconds_count 1", lines);
    }

    [Fact]
    public void Instruments_created_after_the_exporter_are_exported_and_other_meters_are_not()
    {
        using var exporter = new PrometheusExporter(_meter, s_noProcess);
        using var stranger = new Meter("Sluice");
        var late = _meter.CreateCounter<int>("late", null, "Created late.");
        var foreign = stranger.CreateCounter<int>("foreign", null, "Not ours.");

        late.Add(2);
        foreign.Add(9);

        var scrape = exporter.Scrape();
        Assert.Contains("late_total 2", ScrapeText.Lines(scrape));
        Assert.DoesNotContain("foreign", scrape, StringComparison.Ordinal);
    }

    [Fact]
    public void Metrics_of_a_disposed_meter_disappear()
    {
        using var shortLived = new Meter("Sluice");
        shortLived.CreateCounter<long>("gone", null, "Gone soon.").Add(1);
        using var exporter = new PrometheusExporter(shortLived, s_noProcess);
        shortLived.CreateCounter<long>("gone_too", null, "Gone soon.").Add(1);
        Assert.Contains("gone_too_total 1", ScrapeText.Lines(exporter.Scrape()));

        shortLived.Dispose();

        Assert.Equal(string.Empty, exporter.Scrape());
    }

    [Fact]
    public void Distinct_label_sets_are_capped_and_overflow_is_counted()
    {
        var counter = _meter.CreateCounter<long>("capped", null, "Capped.");
        var histogram = _meter.CreateHistogram<double>("capped_seconds", null, "Capped too.");
        using var exporter = new PrometheusExporter(_meter, new PrometheusExporterOptions { MaxSeriesPerMetric = 3, IncludeProcessMetrics = false });

        for (var i = 0; i < 5; i++)
        {
            counter.Add(1, new KeyValuePair<string, object?>("id", i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            histogram.Record(1, new KeyValuePair<string, object?>("id", i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        counter.Add(10, new KeyValuePair<string, object?>("id", "0")); // an existing series keeps counting
        counter.Add(1, new KeyValuePair<string, object?>("id", "99"));

        var scrape = exporter.Scrape();
        Assert.Equal(["capped_total{id=\"0\"}", "capped_total{id=\"1\"}", "capped_total{id=\"2\"}"], ScrapeText.SeriesOf(scrape, "capped_total"));
        Assert.Equal(11, ScrapeText.Value(scrape, "capped_total{id=\"0\"}"));
        Assert.Equal(3, ScrapeText.Value(scrape, "sluice_metrics_dropped_measurements_total{metric=\"capped_total\"}"));
        Assert.Equal(2, ScrapeText.Value(scrape, "sluice_metrics_dropped_measurements_total{metric=\"capped_seconds\"}"));
        Assert.Contains("# TYPE sluice_metrics_dropped_measurements_total counter", ScrapeText.Lines(scrape));
    }

    [Fact]
    public void Measurements_beyond_the_cap_are_dropped_without_allocating()
    {
        var counter = _meter.CreateCounter<long>("exploding", null, "Too many labels.");
        using var exporter = new PrometheusExporter(_meter, new PrometheusExporterOptions { MaxSeriesPerMetric = 1, IncludeProcessMetrics = false });
        string[] ids = [.. Enumerable.Range(0, 100).Select(i => $"id-{i}")];
        counter.Add(1, new KeyValuePair<string, object?>("id", ids[0]));

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 1; i < ids.Length; i++)
        {
            counter.Add(1, new KeyValuePair<string, object?>("id", ids[i]));
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(99, ScrapeText.Value(exporter.Scrape(), "sluice_metrics_dropped_measurements_total{metric=\"exploding_total\"}"));
    }

    [Fact]
    public async Task Concurrent_recording_loses_nothing_and_concurrent_scrapes_stay_consistent()
    {
        const int Threads = 4;
        const int PerThread = 20_000;
        var counter = _meter.CreateCounter<long>("hammered", null, "Concurrent adds.");
        var histogram = _meter.CreateHistogram("hammered_seconds", null, "Concurrent records.", tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.5] });
        var seconds = _meter.CreateCounter<double>("hammered_double", null, "Concurrent double adds.");
        using var exporter = new PrometheusExporter(_meter, s_noProcess);
        string[] pools = ["a", "b", "c"];

        using var done = new CancellationTokenSource();
        var scraper = Task.Run(() =>
        {
            var scrapes = 0;
            while (!done.IsCancellationRequested || scrapes == 0)
            {
                var samples = ScrapeText.Samples(exporter.Scrape());
                foreach (var pool in pools)
                {
                    if (samples.TryGetValue($"hammered_seconds_count{{pool=\"{pool}\"}}", out var count))
                    {
                        Assert.Equal(count, samples[$"hammered_seconds_bucket{{pool=\"{pool}\",le=\"+Inf\"}}"]);
                    }
                }

                scrapes++;
            }

            return scrapes;
        });

        var writers = Enumerable.Range(0, Threads).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < PerThread; i++)
            {
                var pool = new KeyValuePair<string, object?>("pool", pools[(i + t) % pools.Length]);
                counter.Add(1, pool);
                histogram.Record(i % 2 == 0 ? 0.25 : 1, pool);
                seconds.Add(0.5, pool);
            }
        })).ToArray();
        await Task.WhenAll(writers).WaitAsync(TimeSpan.FromMinutes(1));
        await done.CancelAsync();
        Assert.True(await scraper.WaitAsync(TimeSpan.FromMinutes(1)) > 0);

        var scrape = exporter.Scrape();
        var totalAdds = pools.Sum(p => ScrapeText.Value(scrape, $"hammered_total{{pool=\"{p}\"}}"));
        var totalRecords = pools.Sum(p => ScrapeText.Value(scrape, $"hammered_seconds_count{{pool=\"{p}\"}}"));
        var lowBucket = pools.Sum(p => ScrapeText.Value(scrape, $"hammered_seconds_bucket{{pool=\"{p}\",le=\"0.5\"}}"));
        var histogramSum = pools.Sum(p => ScrapeText.Value(scrape, $"hammered_seconds_sum{{pool=\"{p}\"}}"));
        var doubleSum = pools.Sum(p => ScrapeText.Value(scrape, $"hammered_double_total{{pool=\"{p}\"}}"));
        Assert.Equal(Threads * PerThread, totalAdds);
        Assert.Equal(Threads * PerThread, totalRecords);
        Assert.Equal(Threads * PerThread / 2, lowBucket);
        Assert.Equal(Threads * PerThread / 2 * 1.25, histogramSum);
        Assert.Equal(Threads * PerThread * 0.5, doubleSum);
    }

    [Fact]
    public async Task Stream_output_equals_the_string_scrape_and_content_type_is_text_format_0_0_4()
    {
        var counter = _meter.CreateCounter<long>("streamed", null, "Streamed.");
        using var exporter = new PrometheusExporter(_meter, s_noProcess);
        counter.Add(7, new KeyValuePair<string, object?>("k", "vé"));

        using var stream = new MemoryStream();
        await exporter.WriteToAsync(stream);

        Assert.Equal(exporter.Scrape(), System.Text.Encoding.UTF8.GetString(stream.ToArray()));
        Assert.Contains("streamed_total{k=\"vé\"} 7", ScrapeText.Lines(exporter.Scrape()));
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", PrometheusExporter.ContentType);
    }

    [Fact]
    public void Process_metrics_are_written_when_enabled()
    {
        using var with = new PrometheusExporter(_meter);
        using var without = new PrometheusExporter(_meter, s_noProcess);

        var scrape = with.Scrape();
        var lines = ScrapeText.Lines(scrape);
        Assert.Contains("# TYPE process_cpu_seconds_total counter", lines);
        Assert.True(ScrapeText.Value(scrape, "process_cpu_seconds_total") > 0);
        Assert.True(ScrapeText.Value(scrape, "process_resident_memory_bytes") > 1024 * 1024);
        Assert.True(ScrapeText.Value(scrape, "process_start_time_seconds") > 1_600_000_000);
        if (OperatingSystem.IsLinux())
        {
            Assert.True(ScrapeText.Value(scrape, "process_open_fds") > 2);
            Assert.True(ScrapeText.Value(scrape, "process_max_fds") >= ScrapeText.Value(scrape, "process_open_fds"));
        }

        Assert.Equal(string.Empty, without.Scrape());
    }

    [Fact]
    public void Scraping_a_disposed_exporter_throws()
    {
        var exporter = new PrometheusExporter(_meter, s_noProcess);
        exporter.Dispose();
        exporter.Dispose();

        Assert.Throws<ObjectDisposedException>(() => exporter.Scrape());
    }
}
