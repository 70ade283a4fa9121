namespace Sluice.Routing.Topology;

/// <summary>routing.read_consistency: which writes a read routed to a replica is sure to see.</summary>
public enum ReadConsistency
{
    /// <summary>Every write transaction that completed through this proxy (any client, any user) before the read began.</summary>
    Causal,

    /// <summary>The client's own write transactions (read_your_writes = true).</summary>
    Session,

    /// <summary>No guarantee beyond max_replica_lag.</summary>
    LagBudget,
}
