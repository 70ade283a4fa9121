namespace Sluice.Routing.Topology;

/// <summary>The role a server was given in the configuration.</summary>
public enum ConfiguredRole
{
    Primary,
    Replica,

    /// <summary>Found by <c>pg_is_in_recovery()</c>.</summary>
    Auto,
}

/// <summary>What a server is as far as Sluice knows: what its last successful check said, else what it was configured as.</summary>
public enum ObservedRole
{
    /// <summary>Never checked and configured as auto.</summary>
    Unknown,

    /// <summary>Writable: <c>pg_is_in_recovery()</c> is false.</summary>
    Primary,

    /// <summary>A standby: <c>pg_is_in_recovery()</c> is true.</summary>
    Replica,
}

/// <summary>What the last health check of a server found.</summary>
public enum ServerHealth
{
    /// <summary>Not checked yet.</summary>
    Unknown,

    /// <summary>The last check succeeded.</summary>
    Up,

    /// <summary>The last check failed (refused, timed out, login failed, query failed).</summary>
    Down,
}

/// <summary>How reads are spread over the replicas within the lag budget (routing.load_balancing).</summary>
public enum ReplicaBalancing
{
    /// <summary>The replica with the fewest transactions running through Sluice right now; ties take turns.</summary>
    LeastOutstanding,
    RoundRobin,
    Random,
}

/// <summary>What a transaction needs from a server.</summary>
public enum RouteKind
{
    /// <summary>A replica within the lag budget will do; the primary when there is none.</summary>
    Read,

    /// <summary>Only the writable primary will do.</summary>
    Write,
}

/// <summary>Role names as metrics, logs and the admin console print them.</summary>
public static class RoleNames
{
    public static string Of(ObservedRole role) => role switch
    {
        ObservedRole.Primary => "primary",
        ObservedRole.Replica => "replica",
        _ => "unknown",
    };
}
