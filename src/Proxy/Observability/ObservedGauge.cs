using Prometheus;

namespace Sluice.Proxy.Observability;

/// <summary>
/// A gauge whose series are exactly what the last scrape observed: each reported label set gets its value, and the
/// series of a label set no longer reported (a pool removed by a reload, a server gone) is removed rather than left
/// frozen at its last value. Used on the scraping thread only, under <see cref="SluiceMetrics"/>' collect lock.
/// </summary>
internal sealed class ObservedGauge(Gauge gauge)
{
    private Dictionary<string, string[]> _reported = new(StringComparer.Ordinal);

    public string Name => gauge.Name;

    /// <summary>Sets every sample; a repeated label set keeps the last value. Throws what <paramref name="samples"/> throws, after removing the series it did not reach.</summary>
    public void Observe(IEnumerable<(string[] Labels, double Value)> samples)
    {
        var reported = new Dictionary<string, string[]>(StringComparer.Ordinal);
        try
        {
            foreach (var (labels, value) in samples)
            {
                gauge.WithLabels(labels).Set(value);
                reported[string.Join('\0', labels)] = labels;
            }
        }
        finally
        {
            foreach (var (key, labels) in _reported)
            {
                if (!reported.ContainsKey(key))
                {
                    gauge.RemoveLabelled(labels);
                }
            }

            _reported = reported;
        }
    }
}
