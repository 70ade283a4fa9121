namespace Sluice.Proxy.Demo;

/// <summary>
/// One of the two servers of a <see cref="PostgresCluster"/>, named by the role it was started with: after
/// promotion the "replica" node is writable, its name stays.
/// </summary>
public enum ClusterNode
{
    Primary,
    Replica,
}
