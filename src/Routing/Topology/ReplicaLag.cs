using System.Collections.Immutable;

namespace Sluice.Routing.Topology;

/// <summary>A replica's lag behind its primary: in WAL bytes and in time. Null parts are unknown.</summary>
public readonly record struct ReplicaLag(long? Bytes, TimeSpan? Time)
{
    public static ReplicaLag CaughtUp => new(0, TimeSpan.Zero);

    /// <summary>
    /// The lag of a replica checked at <paramref name="at"/>, measured against the primary's recent write positions
    /// (<paramref name="primaryHistory"/>, oldest first; empty when no primary is up).
    /// </summary>
    /// <remarks>
    /// Bytes = the primary's latest position − the replica's replay position (never below 0: the two are read at
    /// different moments). LSNs are compared first: a replica that has replayed all the primary has written is 0 s
    /// behind, however old its last replayed transaction is (an idle primary makes that timestamp age).
    /// Otherwise the time is the smaller of two upper bounds: how long ago the primary was last seen at or below the
    /// replica's replay position, and how long ago the replica's last replayed transaction committed. The first one
    /// keeps a replica that trails an idle primary by a few bytes for a few milliseconds from looking hours behind.
    /// Without a primary, a replica is measured against what it received itself: received − replayed. Behind a history
    /// of one sample, the time is that sample's age until the primary's next sample.
    /// </remarks>
    public static ReplicaLag Measure(ImmutableArray<WalSample> primaryHistory, ServerProbe replica, DateTimeOffset at)
    {
        if (primaryHistory.IsDefaultOrEmpty)
        {
            return WithoutPrimary(replica);
        }

        var replay = replica.WalLsn;
        var latest = primaryHistory[^1].Lsn;
        var bytes = Math.Max(0, latest - replay);
        if (bytes == 0)
        {
            return CaughtUp;
        }

        var replayAge = replica.ReplayAge is { } age ? Max(age, TimeSpan.Zero) : (TimeSpan?)null;
        for (var i = primaryHistory.Length - 1; i >= 0; i--)
        {
            if (primaryHistory[i].Lsn <= replay)
            {
                var sinceAtOrBelow = Max(at - primaryHistory[i].At, TimeSpan.Zero);
                return new ReplicaLag(bytes, replayAge is { } bound && bound < sinceAtOrBelow ? bound : sinceAtOrBelow);
            }
        }

        if (primaryHistory.Length == 1)
        {
            // The monitor has seen the primary once (it just started, or the primary just changed): how long ago the
            // primary left the replica's position is not known yet, and the replay age would judge a replica a few
            // bytes behind a fresh primary (a checkpoint or running-transactions record) by the age of the last
            // commit, seconds or hours. Until the primary's next sample tells more, it is as far behind as that one
            // sample is old; a replica that stays behind is measured by its replay age from the second sample on.
            return new ReplicaLag(bytes, Max(at - primaryHistory[0].At, TimeSpan.Zero));
        }

        // Behind everything the history holds: at least as old as its oldest sample.
        return new ReplicaLag(bytes, replayAge ?? Max(at - primaryHistory[0].At, TimeSpan.Zero));
    }

    /// <summary>No primary to compare with: received − replayed; an idle or cut-off replica that replayed all it got is caught up.</summary>
    public static ReplicaLag WithoutPrimary(ServerProbe replica)
    {
        if (replica.ReceiveLsn is not { } received)
        {
            // It never streamed (no receiver since it started): there is nothing known it could be behind of.
            return new ReplicaLag(null, TimeSpan.Zero);
        }

        var bytes = Math.Max(0, received - replica.WalLsn);
        return bytes == 0 ? CaughtUp : new ReplicaLag(bytes, replica.ReplayAge is { } age ? Max(age, TimeSpan.Zero) : null);
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}

/// <summary>The lag budget (routing.max_replica_lag): a replica further behind gets no reads until it is back within it.</summary>
public static class LagBudget
{
    /// <summary>
    /// True when the replica's lag is known and at most <paramref name="maxLag"/>. A budget of zero means no budget
    /// ("0" disables, as for every duration of proxy.toml): any lag is accepted.
    /// </summary>
    public static bool IsWithin(ServerState replica, TimeSpan maxLag)
    {
        ArgumentNullException.ThrowIfNull(replica);
        if (maxLag <= TimeSpan.Zero)
        {
            return true;
        }

        return replica.Lag is { } lag && lag <= maxLag;
    }
}
