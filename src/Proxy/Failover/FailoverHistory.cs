using Sluice.Proxy.Observability;
using Sluice.Routing.Topology;

namespace Sluice.Proxy.Failover;

/// <summary>
/// The primaries each database has had: a failover is a healthy primary found on another server than the last
/// healthy primary known, however long the database went without one in between (stop, promote, and the old one
/// coming back as a standby count once). A primary that restarts in place is no failover. Fed every published
/// topology snapshot by the <see cref="Health.HealthMonitor"/>; read by SHOW SERVERS and counted in
/// <c>sluice_failovers_total</c>.
/// </summary>
internal sealed class FailoverHistory
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Entry> _databases = new(StringComparer.Ordinal);
    private readonly SluiceMetrics? _metrics;

    public FailoverHistory(SluiceMetrics? metrics = null)
    {
        _metrics = metrics;
    }

    /// <summary>
    /// Looks at <paramref name="topology"/>, the latest snapshot of a database. Callers pass the monitor's current
    /// snapshot under no lock of theirs; the comparison is made under this one, so concurrent callers see each change once.
    /// </summary>
    /// <returns>The new primary's name when this snapshot shows a failover; otherwise null.</returns>
    public string? Observe(DatabaseTopology topology, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(topology);
        if (topology.Primary is not { Health: ServerHealth.Up } primary)
        {
            return null;
        }

        lock (_lock)
        {
            if (!_databases.TryGetValue(topology.Name, out var entry))
            {
                _databases[topology.Name] = new Entry(primary.Name, 0, null);
                _metrics?.FailoverTracked(topology.Name);
                return null;
            }

            if (entry.Primary == primary.Name)
            {
                return null;
            }

            _databases[topology.Name] = new Entry(primary.Name, entry.Count + 1, at);
        }

        _metrics?.Failover(topology.Name);
        return primary.Name;
    }

    /// <summary>Failovers of <paramref name="database"/> seen since the proxy started, and when the last one was seen.</summary>
    public (long Count, DateTimeOffset? LastAt) Of(string database)
    {
        lock (_lock)
        {
            return _databases.TryGetValue(database, out var entry) ? (entry.Count, entry.LastAt) : (0, null);
        }
    }

    private readonly record struct Entry(string Primary, long Count, DateTimeOffset? LastAt);
}
