using System.Diagnostics;
using System.Diagnostics.Metrics;
using Sluice.Proxy.Observability;

namespace Sluice.Proxy.Tests.Observability;

/// <summary>Runs the real <c>promtool check metrics</c> over real scrapes: the contract says /metrics passes it.</summary>
public sealed class PromtoolTests
{
    [Fact]
    public async Task A_full_sluice_scrape_passes_promtool_without_lint_findings()
    {
        using var metrics = new SluiceMetrics(FakeMetricsSource.Typical());
        using var exporter = new PrometheusExporter(metrics);
        metrics.TransactionCompleted("shop", "primary");
        metrics.TransactionCompleted("shop", "replica");
        metrics.QueryCompleted("shop", "replica", 0.004);
        metrics.QueryCompleted("shop", "primary", 3);
        metrics.Error("shop", "57014");
        metrics.Error("shop", "?");
        metrics.StatementTimeout("shop", "app");
        metrics.ConnectionRejected(RejectionReason.Draining);
        metrics.BytesTransferred(TrafficDirection.ClientToServer, 1234);
        metrics.CheckoutWait(0.02);

        var scrape = exporter.Scrape();
        Assert.Contains("sluice_server_up{", scrape, StringComparison.Ordinal);
        Assert.Contains("process_cpu_seconds_total ", scrape, StringComparison.Ordinal);

        var (exitCode, output) = await RunPromtoolAsync(scrape);

        Assert.True(exitCode == 0 && output.Length == 0, $"promtool exit code {exitCode}:\n{output}\nscrape:\n{scrape}");
    }

    [Fact]
    public async Task Escaped_labels_odd_names_and_overflow_pass_promtool()
    {
        using var meter = new Meter("Sluice");
        var counter = meter.CreateCounter<long>("odd.name-requests", null, "Help with \\ and\nnewline.");
        var histogram = meter.CreateHistogram<double>("odd_latency_seconds", null, "Latency.");
        meter.CreateObservableGauge("odd_level", () => new Measurement<double>(double.NaN, new KeyValuePair<string, object?>("k", "x")), null, "Level.");
        using var exporter = new PrometheusExporter(meter, new PrometheusExporterOptions { MaxSeriesPerMetric = 2 });
        counter.Add(1, new KeyValuePair<string, object?>("path", "C:\\dir \"quoted\"\nnext line"));
        counter.Add(1, new KeyValuePair<string, object?>("path", "ünïcödé {}=,"));
        counter.Add(1, new KeyValuePair<string, object?>("path", "over the cap"));
        histogram.Record(1e-7, new KeyValuePair<string, object?>("9bad.label", "v"));
        histogram.Record(1e9, new KeyValuePair<string, object?>("9bad.label", "v"));

        var scrape = exporter.Scrape();
        Assert.Contains("sluice_metrics_dropped_measurements_total{metric=\"odd_name_requests_total\"} 1", scrape, StringComparison.Ordinal);

        var (exitCode, output) = await RunPromtoolAsync(scrape);

        Assert.True(exitCode == 0 && output.Length == 0, $"promtool exit code {exitCode}:\n{output}\nscrape:\n{scrape}");
    }

    [Fact]
    public async Task Promtool_harness_reports_a_broken_exposition()
    {
        // Proves the two tests above can fail: a counter without _total and a sample without its family's TYPE order.
        var (exitCode, output) = await RunPromtoolAsync("# HELP requests Requests.\n# TYPE requests counter\nrequests 1\n");

        Assert.NotEqual(0, exitCode);
        Assert.Contains("_total", output, StringComparison.Ordinal);
    }

    private static async Task<(int ExitCode, string Output)> RunPromtoolAsync(string scrape)
    {
        var promtool = FindPromtool();
        var file = Path.Combine(Path.GetTempPath(), $"sluice-metrics-{Guid.NewGuid():N}.prom");
        await File.WriteAllTextAsync(file, scrape);
        try
        {
            var start = new ProcessStartInfo("/bin/sh")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add("exec \"$0\" check metrics < \"$1\"");
            start.ArgumentList.Add(promtool);
            start.ArgumentList.Add(file);

            using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start promtool");
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await process.WaitForExitAsync(timeout.Token);
            return (process.ExitCode, ((await stdout) + (await stderr)).Trim());
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static string FindPromtool()
    {
        var candidates = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, "promtool"))
            .Prepend("/usr/bin/promtool");
        return candidates.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException(
                "promtool is not installed (looked in /usr/bin and PATH); these tests check /metrics with it. Install it (Debian: apt-get install prometheus) and rerun.");
    }
}
