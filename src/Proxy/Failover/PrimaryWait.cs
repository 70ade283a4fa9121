using System.Diagnostics;
using Sluice.Proxy.Configuration;
using Sluice.Proxy.Health;
using Sluice.Proxy.Observability;
using Sluice.Proxy.Pooling;
using Sluice.Routing.Topology;

namespace Sluice.Proxy.Failover;

/// <summary>How long one transaction's checkout may still wait for a primary (routing.failover_wait, taken when it began).</summary>
internal readonly record struct FailoverBudget(long Started, TimeSpan Wait)
{
    public TimeSpan Left => Wait - Stopwatch.GetElapsedTime(Started);

    public TimeSpan Elapsed => Stopwatch.GetElapsedTime(Started);
}

/// <summary>
/// routing.failover_wait on the session's side: a transaction that needs the primary while the topology has none (the
/// primary stopped and the promotion is not seen yet, or its server was just suspected) waits for a snapshot with one
/// instead of failing at once, and has the database's servers checked meanwhile. Nothing of the transaction has
/// reached a server while it waits, so running it on the new primary replays nothing.
/// </summary>
internal sealed class PrimaryWait
{
    /// <summary>Longest sleep between two looks at the topology: a missed wake-up costs at most this.</summary>
    private static readonly TimeSpan s_poll = TimeSpan.FromMilliseconds(250);

    private readonly HealthMonitor _monitor;
    private readonly PoolRegistry _pools;
    private readonly Func<ProxyConfig> _config;
    private readonly SluiceMetrics _metrics;

    public PrimaryWait(HealthMonitor monitor, PoolRegistry pools, Func<ProxyConfig> config, SluiceMetrics metrics)
    {
        _monitor = monitor;
        _pools = pools;
        _config = config;
        _metrics = metrics;
    }

    /// <summary>The budget of a checkout starting now, from the current routing.failover_wait.</summary>
    public FailoverBudget Start() => new(Stopwatch.GetTimestamp(), _config().Routing.FailoverWait);

    /// <summary>A route that failed for want of a primary: the one failure a failover mends (a split brain is not waited out).</summary>
    public static bool NeedsPrimary(ServerRoute route) => !route.Succeeded && route.Selection.Status == SelectionStatus.NoPrimary;

    /// <summary>
    /// Asks <paramref name="select"/> again at every new topology snapshot until it finds a server, fails for another
    /// reason than a missing primary, or the budget runs out (then its last answer, the usual 08006). The time waited
    /// goes to <c>sluice_failover_wait_seconds</c>.
    /// </summary>
    public async ValueTask<ServerRoute> WaitAsync<TState>(
        string database, FailoverBudget budget, TState state, Func<TState, CancellationToken, ValueTask<ServerRoute>> select, CancellationToken cancellationToken)
    {
        ServerRoute route;
        while (true)
        {
            // Taken before asking, so that a snapshot published in between is not missed.
            var changed = _monitor.NextChange;
            route = await select(state, cancellationToken);
            var left = budget.Left;
            if (!NeedsPrimary(route) || left <= TimeSpan.Zero)
            {
                break;
            }

            _monitor.RecheckForPrimary(database);
            try
            {
                await changed.WaitAsync(left < s_poll ? left : s_poll, cancellationToken);
            }
            catch (TimeoutException)
            {
            }
        }

        if (budget.Wait > TimeSpan.Zero)
        {
            _metrics.FailoverWait(database, budget.Elapsed.TotalSeconds);
        }

        return route;
    }

    /// <summary>
    /// A login to <paramref name="server"/> failed in a way a failover explains: it takes no new transactions until a
    /// check passes, and the checkout waits for the next snapshot (its check, usually) before it asks for a server
    /// afresh, so a server that keeps refusing is not hammered. True when the budget allows that next try.
    /// </summary>
    public async ValueTask<bool> LoginFailedAsync(string database, string server, string reason, FailoverBudget budget, CancellationToken cancellationToken)
    {
        GoneAway(database, server, reason);
        var changed = _monitor.NextChange;
        var left = budget.Left;
        if (left <= TimeSpan.Zero)
        {
            return false;
        }

        try
        {
            await changed.WaitAsync(left < s_poll ? left : s_poll, cancellationToken);
        }
        catch (TimeoutException)
        {
        }

        return budget.Left > TimeSpan.Zero;
    }

    /// <summary>A lent server connection was lost to a connection error or 57P01/57P02/57P03: the server is suspected until a check passes.</summary>
    public void ServerLost(string database, string server, string reason) => GoneAway(database, server, reason);

    /// <summary>The server takes no new transactions until a check passes, and nobody waits for its pools' connections.</summary>
    private void GoneAway(string database, string server, string reason)
    {
        _monitor.Suspect(database, server, reason);
        _pools.FailWaiters(database, server, reason);
    }
}
