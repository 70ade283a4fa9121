namespace Sluice.Proxy.Observability;

public sealed class PrometheusExporterOptions
{
    /// <summary>
    /// Distinct label sets kept per metric; measurements for a new label set beyond it are dropped and counted in
    /// <c>sluice_metrics_dropped_measurements_total{metric}</c>.
    /// </summary>
    public int MaxSeriesPerMetric { get; init; } = 10_000;

    /// <summary>Also write <c>process_cpu_seconds_total</c>, <c>process_resident_memory_bytes</c>, <c>process_open_fds</c> and friends.</summary>
    public bool IncludeProcessMetrics { get; init; } = true;
}
