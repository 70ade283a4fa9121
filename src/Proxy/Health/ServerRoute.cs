using Sluice.Proxy.Configuration;
using Sluice.Routing.Topology;

namespace Sluice.Proxy.Health;

/// <summary>
/// The server a transaction goes to, as the config names it (for <c>PoolRegistry.GetPool</c>), or why there is none.
/// </summary>
/// <param name="Selection">The topology's answer: status, role, and the <see cref="BackendNode"/> whose
/// <see cref="BackendNode.Acquire"/>/<see cref="BackendNode.Release"/> count the transaction for least_outstanding.</param>
/// <param name="Server">The config entry of the chosen server; null when none was chosen.</param>
internal readonly record struct ServerRoute(ServerSelection Selection, BackendServerConfig? Server)
{
    public bool Succeeded => Server is not null;

    /// <summary>For Acquire/Release around the transaction; null when none was chosen.</summary>
    public BackendNode? Node => Selection.Server;

    /// <summary>True when a read went to a replica.</summary>
    public bool IsReplica => Selection.IsReplica;

    /// <summary>"primary" or "replica": the route label of metrics.</summary>
    public string RoleName => RoleNames.Of(Selection.Role);

    /// <summary>The ErrorResponse text (SQLSTATE 08006 connection_failure) for a failed route.</summary>
    public string FailureMessage => Selection.FailureMessage;
}
