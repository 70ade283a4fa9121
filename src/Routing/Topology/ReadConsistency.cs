namespace Sluice.Routing.Topology;

/// <summary>What a read routed to a replica promises about the writes before it ([routing] read_consistency).</summary>
public enum ReadConsistency
{
    /// <summary>A read sees what the writes it could have observed committed (the default).</summary>
    Causal,

    /// <summary>A client's reads see its own earlier commits (read your writes).</summary>
    Session,

    /// <summary>Any replica within the lag budget ([routing] max_replica_lag) may answer.</summary>
    LagBudget,
}
