namespace Sluice.Routing.Topology;

/// <summary>Why a selection found no server, or that it found one.</summary>
public enum SelectionStatus
{
    Selected,

    /// <summary>The database is not in the topology.</summary>
    UnknownDatabase,

    /// <summary>No usable writable server (a write, or a read with no replica to fall back from).</summary>
    NoPrimary,

    /// <summary>More than one server is writable (split brain): writes are refused until one is a standby again.</summary>
    Fenced,
}

/// <summary>The answer of <see cref="TopologySnapshot.Select"/>: a server, or why there is none. Allocation-free.</summary>
public readonly record struct ServerSelection(SelectionStatus Status, string Database, BackendNode? Server, ObservedRole Role)
{
    public bool Succeeded => Status == SelectionStatus.Selected;

    /// <summary>True when a read went to a replica (not to the primary).</summary>
    public bool IsReplica => Succeeded && Role == ObservedRole.Replica;

    /// <summary>The text for the client's ErrorResponse (SQLSTATE 08006) when no server was found; empty otherwise.</summary>
    public string FailureMessage => Status switch
    {
        SelectionStatus.Selected => "",
        SelectionStatus.UnknownDatabase => $"database \"{Database}\" has no servers in the routing topology",
        SelectionStatus.Fenced => $"writes to database \"{Database}\" are refused: more than one of its servers is writable (split brain); they resume when all but one are standbys again",
        _ => $"no writable primary for database \"{Database}\"",
    };

    internal static ServerSelection Failed(SelectionStatus status, string database) => new(status, database, null, ObservedRole.Unknown);

    internal static ServerSelection Of(string database, ServerState server) => new(SelectionStatus.Selected, database, server.Node, server.Role);
}
