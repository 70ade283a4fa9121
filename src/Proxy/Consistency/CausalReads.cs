using Sluice.Proxy.Configuration;
using Sluice.Proxy.Health;
using Sluice.Proxy.Observability;
using Sluice.Proxy.Runtime;
using Sluice.Routing.Topology;

namespace Sluice.Proxy.Consistency;

/// <summary>
/// routing.read_consistency on the session's side, in two calls: <see cref="WriteCompleted"/> when a write transaction
/// ends on the primary, <see cref="SelectAsync"/> when a read is about to be routed. A read goes to a replica known to
/// have replayed its floor; when none is known to, it has the monitor check the servers that could tell at once and
/// waits for their answers, up to routing.max_read_wait, then runs on the primary.
/// </summary>
/// <remarks>
/// Learning where a write ended costs the write a counter increment and a wake-up of the primary's check loop: the
/// primary's position comes from its check sent right after the write completed (one check covers every write
/// completed before it was sent), and a check that raises the floor has the replicas checked at once, so that the
/// positions are usually known before the next read asks. See docs/routing.md for the measurements behind this.
/// </remarks>
internal sealed class CausalReads
{
    private readonly HealthMonitor _monitor;
    private readonly Func<ProxyConfig> _config;
    private readonly SluiceMetrics _metrics;

    public CausalReads(HealthMonitor monitor, Func<ProxyConfig> config, SluiceMetrics metrics)
    {
        _monitor = monitor;
        _config = config;
        _metrics = metrics;
    }

    /// <summary>
    /// A write transaction on <paramref name="database"/> completed on the primary. Call it before the client can see
    /// its ReadyForQuery. Returns the write's number: pass the session's latest one to <see cref="SelectAsync"/>.
    /// </summary>
    public long WriteCompleted(string database)
    {
        var number = _monitor.Floors.Of(database).NoteWrite();
        var routing = _config().Routing;
        if (routing.ReadWriteSplit && routing.ReadConsistency != ReadConsistency.LagBudget)
        {
            // Learn where it ended now, off the write's path, rather than when the next read asks.
            _monitor.CatchUp(database);
        }

        return number;
    }

    /// <summary>
    /// The server for a read on <paramref name="database"/> by a session whose last write was number
    /// <paramref name="sessionWrite"/> (0: none). Completes at once unless it must wait for fresher positions.
    /// </summary>
    public ValueTask<ServerRoute> SelectAsync(DatabaseConfig database, long sessionWrite, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(database);
        var routing = _config().Routing;
        var floor = _monitor.Floors.Of(database.Name);

        // The writes this read must see are those completed before it began: later ones do not move its target.
        var mustCover = ReadFloor.WritesToCover(routing.ReadConsistency, floor.Writes, sessionWrite);
        var maxWait = routing.MaxReadWait;
        var read = Select(database.HealthName, mustCover, floor, mayWait: maxWait > TimeSpan.Zero);
        return read.MustWait
            ? WaitAsync(database, mustCover, floor, maxWait, cancellationToken)
            : new ValueTask<ServerRoute>(Routed(database, read));
    }

    private ReadSelection Select(string database, long mustCover, WriteFloor floor, bool mayWait) =>
        _monitor.Topology.SelectRead(database, ReadFloor.Covering(mustCover, floor.Fence), mayWait);

    private async ValueTask<ServerRoute> WaitAsync(
        DatabaseConfig database, long mustCover, WriteFloor floor, TimeSpan maxWait, CancellationToken cancellationToken)
    {
        _metrics.ReadFloorWait(database.Name);
        var time = _monitor.Time;
        var started = time.GetTimestamp();
        while (true)
        {
            // Take the signal before asking, so that a check recorded in between is not missed.
            var nextCheck = floor.NextCheck;
            _monitor.CatchUp(database.HealthName);
            var left = maxWait - time.GetElapsedTime(started);
            if (left <= TimeSpan.Zero)
            {
                break;
            }

            try
            {
                await nextCheck.WaitAsync(left, time, cancellationToken);
            }
            catch (TimeoutException)
            {
                break;
            }

            var read = Select(database.HealthName, mustCover, floor, mayWait: true);
            if (!read.MustWait)
            {
                return Routed(database, read);
            }
        }

        return Routed(database, Select(database.HealthName, mustCover, floor, mayWait: false));
    }

    private ServerRoute Routed(DatabaseConfig database, ReadSelection read)
    {
        var route = HealthState.Route(database, read.Selection);
        if (route.Succeeded)
        {
            _metrics.ReadRouted(database.Name, route.IsReplica);
        }

        if (read.Outcome == ReadFloorOutcome.FellBack)
        {
            _metrics.ReadFloorFallback(database.Name);
        }

        return route;
    }
}
