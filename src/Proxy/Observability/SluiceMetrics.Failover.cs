using Prometheus;

namespace Sluice.Proxy.Observability;

/// <summary>Failover: how often a database got a new primary, and how long transactions waited for one.</summary>
public sealed partial class SluiceMetrics
{
    /// <summary>The bucket upper bounds, in seconds, of <c>sluice_failover_wait_seconds</c>: a failover takes seconds, not milliseconds.</summary>
    public static IReadOnlyList<double> FailoverWaitBucketBoundaries { get; } = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30];

    private FailoverSeries? _failover;

    /// <summary>A database's primary moved to another server (see <c>FailoverHistory</c>).</summary>
    public void Failover(string database)
    {
        if (Recording && _failover?.Failovers.Get(database) is { } series)
        {
            series.Inc();
        }
    }

    /// <summary>The database's first primary is known: its failover count is exported from now on, at 0, so that increase() sees the first one.</summary>
    public void FailoverTracked(string database) => _ = _failover?.Failovers.Get(database);

    /// <summary>
    /// A transaction that needed the primary while there was none (or whose server login failed) waited
    /// <paramref name="seconds"/> for one, whether it got one or not.
    /// </summary>
    public void FailoverWait(string database, double seconds)
    {
        if (Recording && !double.IsNaN(seconds) && _failover?.Waits.Get(database) is { } series)
        {
            series.Observe(seconds);
        }
    }

    private void CreateFailoverMetrics(IMetricFactory factory) => _failover = new FailoverSeries(factory);

    private sealed class FailoverSeries
    {
        public FailoverSeries(IMetricFactory factory)
        {
            var failovers = factory.CreateCounter(
                "sluice_failovers_total", "Times a database's primary moved to another server (a new primary found after the last one failed or stepped down).", [DatabaseLabel]);
            var waits = factory.CreateHistogram(
                "sluice_failover_wait_seconds",
                "Time transactions needing the primary waited for one during a failover (routing.failover_wait), in seconds; only transactions that had to wait.",
                [DatabaseLabel],
                new HistogramConfiguration { Buckets = [.. FailoverWaitBucketBoundaries] });
            Failovers = new(database => failovers.WithLabels(database), MaxSeriesPerMetric);
            Waits = new(database => waits.WithLabels(database), MaxSeriesPerMetric);
        }

        public BoundedSeries<string, Counter.Child> Failovers { get; }

        public BoundedSeries<string, Histogram.Child> Waits { get; }
    }
}
