using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Sluice.Proxy.Failover;

namespace Sluice.Proxy.Health;

/// <summary>
/// What failover needs from the monitor: a signal for every new snapshot (transactions waiting for a primary wake on
/// it), suspicion (a server whose connection broke takes no new transactions until a check passes, and is checked at
/// once), and the count of failovers.
/// </summary>
internal sealed partial class HealthMonitor
{
    /// <summary>How often transactions waiting for a primary may have every server of their database checked at once.</summary>
    private static readonly TimeSpan s_recheckSpacing = TimeSpan.FromMilliseconds(200);

    private readonly ConcurrentDictionary<string, long> _lastRecheck = new(StringComparer.Ordinal);
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The primaries each database has had, and how many failovers that made.</summary>
    public FailoverHistory Failovers { get; }

    /// <summary>Completes when the next snapshot is published (a check's outcome, a suspicion, a reload). Take it before reading <see cref="Topology"/>.</summary>
    public Task NextChange => Volatile.Read(ref _changed).Task;

    /// <summary>
    /// A connection of the proxy's to <paramref name="server"/> broke (a connection error, or 57P01/57P02/57P03). The
    /// server takes no new transactions until a check passes, and that check starts at once instead of at the next
    /// interval. A server that is fine (one backend terminated) is back within one check's round trip.
    /// </summary>
    public void Suspect(string database, string server, string reason)
    {
        var (before, after) = Swap(snapshot => snapshot.RecordSuspect(database, server, reason));
        if (!ReferenceEquals(before, after))
        {
            LogSuspected(_logger, server, database, reason);
        }

        if (Volatile.Read(ref _loopsByDatabase).TryGetValue(database, out var loops))
        {
            foreach (var loop in loops)
            {
                if (loop.Server == server)
                {
                    loop.CheckSoon();
                }
            }
        }
    }

    /// <summary>
    /// Transactions wait for a primary of <paramref name="database"/>: every server of it (banned ones excepted) is
    /// checked as soon as it can be, at most every 200 ms, so a promotion is seen sooner than the next interval.
    /// </summary>
    public void RecheckForPrimary(string database)
    {
        var now = Stopwatch.GetTimestamp();
        var last = _lastRecheck.GetValueOrDefault(database);
        if (last != 0 && Stopwatch.GetElapsedTime(last, now) < s_recheckSpacing)
        {
            return;
        }

        if (!_lastRecheck.TryUpdate(database, now, last) && !_lastRecheck.TryAdd(database, now))
        {
            return;
        }

        if (Volatile.Read(ref _loopsByDatabase).TryGetValue(database, out var loops))
        {
            foreach (var loop in loops)
            {
                loop.CheckSoon();
            }
        }
    }

    /// <summary>A new snapshot was published: wake whoever waits for one.</summary>
    private void SignalChanged() =>
        Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    /// <summary>After a check of <paramref name="database"/>: a healthy primary on another server than before is a failover.</summary>
    private void ObserveFailover(string database)
    {
        if (Topology.Find(database) is { } topology && Failovers.Observe(topology, Time.GetUtcNow()) is { } primary)
        {
            LogFailover(_logger, database, primary);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "server {Server} of database {Database} lost a connection ({Reason}); it takes no new transactions until it passes a health check, checked now")]
    private static partial void LogSuspected(ILogger logger, string server, string database, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "failover: database {Database} has a new primary, {Server}")]
    private static partial void LogFailover(ILogger logger, string database, string server);
}
