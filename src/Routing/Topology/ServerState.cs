using System.Collections.Immutable;

namespace Sluice.Routing.Topology;

/// <summary>
/// Everything known of one server of one database at one moment. Immutable: every check makes a new one, and a new
/// <see cref="TopologySnapshot"/> around it.
/// </summary>
public sealed record ServerState
{
    public required BackendNode Node { get; init; }

    public string Name => Node.Name;

    public required ConfiguredRole ConfiguredRole { get; init; }

    /// <summary>What the last successful check found; <see cref="ObservedRole.Unknown"/> before any. Kept while the server is down.</summary>
    public ObservedRole ObservedRole { get; init; }

    public ServerHealth Health { get; init; }

    /// <summary>Completed checks, failed ones included: lets callers wait for "the next check" without timing.</summary>
    public long Checks { get; init; }

    /// <summary>The number (<see cref="Checks"/>) of the check that first found the current <see cref="ObservedRole"/>; 0 before any.</summary>
    public long RoleSinceCheck { get; init; }

    public DateTimeOffset? LastCheckAt { get; init; }

    /// <summary>Set when a failed check banned the server: no new checks and no traffic before then.</summary>
    public DateTimeOffset? BannedUntil { get; init; }

    /// <summary>Why the last check failed; null while up.</summary>
    public string? LastError { get; init; }

    /// <summary>A primary's write position or a replica's replay position, from the last successful check.</summary>
    public Lsn? WalLsn { get; init; }

    /// <summary>A replica's receive position, from the last successful check.</summary>
    public Lsn? ReceiveLsn { get; init; }

    /// <summary>A replica's replay lag in WAL bytes behind the primary; null for a primary or while unknown.</summary>
    public long? LagBytes { get; init; }

    /// <summary>A replica's replay lag in time; null for a primary or while unknown (unknown is over any budget).</summary>
    public TimeSpan? Lag { get; init; }

    /// <summary>A primary's recent write positions, oldest first: the clock replicas' lag is measured against.</summary>
    public ImmutableArray<WalSample> WalHistory { get; init; } = [];

    /// <summary>The observed role, or before the first check the configured one (auto: unknown).</summary>
    public ObservedRole Role => ObservedRole != ObservedRole.Unknown
        ? ObservedRole
        : ConfiguredRole switch
        {
            ConfiguredRole.Primary => ObservedRole.Primary,
            ConfiguredRole.Replica => ObservedRole.Replica,
            _ => ObservedRole.Unknown,
        };

    /// <summary>
    /// May take new transactions: not down. A server not checked yet counts as usable in its configured role, so the
    /// proxy serves from its first moment; its first check follows at once.
    /// </summary>
    public bool IsUsable => Health != ServerHealth.Down;

    /// <summary>Usable and writable (or, before the first check, configured as the primary).</summary>
    public bool IsWritable => IsUsable && Role == ObservedRole.Primary;

    /// <summary>Usable and a standby. Within the lag budget is a separate question (<see cref="LagBudget"/>).</summary>
    public bool IsReadableReplica => IsUsable && Role == ObservedRole.Replica;

    public bool IsBanned(DateTimeOffset now) => BannedUntil is { } until && until > now;

    public static ServerState Initial(BackendNode node, ConfiguredRole role) => new() { Node = node, ConfiguredRole = role };
}
