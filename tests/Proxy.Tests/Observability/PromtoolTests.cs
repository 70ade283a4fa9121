using System.Diagnostics;
using Sluice.Proxy.Observability;

namespace Sluice.Proxy.Tests.Observability;

/// <summary>Runs the real <c>promtool check metrics</c> over real scrapes: the contract says /metrics passes it.</summary>
public sealed class PromtoolTests
{
    [Fact]
    public async Task A_full_sluice_scrape_passes_promtool_without_lint_findings()
    {
        var metrics = new SluiceMetrics(FakeMetricsSource.Typical());
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

        var scrape = await metrics.ScrapeAsync();
        Assert.Contains("sluice_server_up{", scrape, StringComparison.Ordinal);
        Assert.Contains("process_cpu_seconds_total ", scrape, StringComparison.Ordinal);

        var (exitCode, output) = await RunPromtoolAsync(scrape);

        Assert.True(exitCode == 0 && output.Length == 0, $"promtool exit code {exitCode}:\n{output}\nscrape:\n{scrape}");
    }

    [Fact]
    public async Task Escaped_labels_empty_families_and_overflow_pass_promtool()
    {
        // No source: the gauge families have no series, only their HELP and TYPE lines.
        var metrics = new SluiceMetrics();
        metrics.TransactionCompleted("C:\\dir \"quoted\"\nnext line", "primary");
        metrics.StatementTimeout("ünïcödé {}=,", "app");
        metrics.QueryCompleted("shop", "primary", 1e-7);
        metrics.QueryCompleted("shop", "primary", 1e9);
        for (var i = 0; i <= SluiceMetrics.MaxSeriesPerMetric; i++)
        {
            metrics.Error($"db{i}", "42P01");
        }

        var scrape = await metrics.ScrapeAsync();
        Assert.Contains("sluice_metrics_dropped_measurements_total{metric=\"sluice_errors_total\"} 1", scrape, StringComparison.Ordinal);

        var (exitCode, output) = await RunPromtoolAsync(scrape);

        Assert.True(exitCode == 0 && output.Length == 0, $"promtool exit code {exitCode}:\n{output}");
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
