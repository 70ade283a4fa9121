namespace Sluice.Proxy.Health;

/// <summary>One server of one database as the health monitor sees it: a row of SHOW REPLICAS.</summary>
/// <param name="Database">The database name clients connect to.</param>
/// <param name="Server">host:port.</param>
/// <param name="Role">primary, replica, or unknown (auto, not checked yet).</param>
/// <param name="ConfiguredRole">primary, replica or auto, as in proxy.toml.</param>
/// <param name="Up">The last check passed.</param>
/// <param name="LagBytes">Replay lag in WAL bytes (replicas; null while unknown).</param>
/// <param name="LagSeconds">Replay lag in seconds (replicas; null while unknown).</param>
/// <param name="WithinBudget">A replica that may take reads (up and within max_replica_lag); false for a primary.</param>
/// <param name="BannedUntil">When a ban from a failed check ends; null when not banned.</param>
/// <param name="WalLsn">A primary's write position or a replica's replay position, as PostgreSQL prints it; null while unknown.</param>
/// <param name="Outstanding">Transactions running through Sluice on it right now.</param>
/// <param name="LastCheckAt">When the last check completed; null before the first.</param>
/// <param name="LastError">Why the last check failed; null while up.</param>
internal sealed record ServerStatus(
    string Database,
    string Server,
    string Role,
    string ConfiguredRole,
    bool Up,
    long? LagBytes,
    double? LagSeconds,
    bool WithinBudget,
    DateTimeOffset? BannedUntil,
    string? WalLsn,
    int Outstanding,
    DateTimeOffset? LastCheckAt,
    string? LastError);
