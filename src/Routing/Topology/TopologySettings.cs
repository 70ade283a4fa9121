namespace Sluice.Routing.Topology;

/// <summary>The [routing] settings the topology decides with.</summary>
public sealed record TopologySettings
{
    /// <summary>routing.read_write_split: false sends reads to the primary too.</summary>
    public bool ReadWriteSplit { get; init; } = true;

    /// <summary>routing.max_replica_lag; zero = no budget.</summary>
    public TimeSpan MaxReplicaLag { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>routing.ban_time: how long a replica that failed its check is skipped (and left unchecked); zero = recheck at once.</summary>
    public TimeSpan BanTime { get; init; } = TimeSpan.FromSeconds(10);

    public ReplicaBalancing Balancing { get; init; } = ReplicaBalancing.LeastOutstanding;

    /// <summary>How far back a primary's write positions are kept to time replicas' lag by.</summary>
    public TimeSpan WalHistoryWindow { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>At most this many write positions are kept per primary.</summary>
    public int WalHistoryLimit { get; init; } = 512;
}
