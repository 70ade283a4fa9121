using Sluice.Proxy.Configuration;

namespace Sluice.Proxy.Runtime;

/// <summary>What the proxy knows of one server of one database; null means not known (yet).</summary>
/// <param name="Database">The database name clients connect to.</param>
/// <param name="Server">The server as <c>host:port</c>.</param>
/// <param name="Role">The role as configured, or as detected for <see cref="ServerRole.Auto"/>.</param>
/// <param name="Up">Reachable and passing health checks (not banned).</param>
/// <param name="LagBytes">Replay lag in WAL bytes (replicas).</param>
/// <param name="LagSeconds">Replay lag in seconds (replicas).</param>
/// <param name="WalLsn">A primary's insert position or a replica's replay position, as PostgreSQL prints it.</param>
internal sealed record ServerReport(string Database, string Server, ServerRole Role, bool? Up, long? LagBytes, double? LagSeconds, string? WalLsn = null);
