using Sluice.Proxy.Configuration;
using Sluice.Routing.Topology;

namespace Sluice.Proxy.Health;

/// <summary>The config's [routing] section and [[databases]] servers in the topology's own terms.</summary>
internal static class TopologyLayout
{
    public static TopologySettings Settings(RoutingSection routing) => new()
    {
        ReadWriteSplit = routing.ReadWriteSplit,
        MaxReplicaLag = routing.MaxReplicaLag,
        BanTime = routing.BanTime,
        Balancing = routing.LoadBalancing switch
        {
            LoadBalancing.RoundRobin => ReplicaBalancing.RoundRobin,
            LoadBalancing.Random => ReplicaBalancing.Random,
            _ => ReplicaBalancing.LeastOutstanding,
        },
    };

    public static IEnumerable<DatabaseLayout> Databases(ProxyConfig config) =>
        config.Databases.Select(database => new DatabaseLayout(
            database.Name,
            [.. database.Servers.Select(server => new ServerLayout(server.Host, server.Port, Role(server.Role)))]));

    public static TopologySnapshot Snapshot(ProxyConfig config, TopologySnapshot? previous) =>
        TopologySnapshot.Create(Settings(config.Routing), Databases(config), previous);

    /// <summary>How often each server is checked: the lag and the health checks share one query, at the shorter interval.</summary>
    public static TimeSpan CheckInterval(RoutingSection routing) =>
        routing.LagCheckInterval < routing.HealthCheckInterval ? routing.LagCheckInterval : routing.HealthCheckInterval;

    /// <summary>
    /// How long one check (connect included) may take before it counts as failed: two health check intervals, and
    /// never under two seconds, so a busy machine does not get its servers banned.
    /// </summary>
    public static TimeSpan CheckTimeout(RoutingSection routing)
    {
        var twice = routing.HealthCheckInterval * 2;
        return twice > TimeSpan.FromSeconds(2) ? twice : TimeSpan.FromSeconds(2);
    }

    private static ConfiguredRole Role(ServerRole role) => role switch
    {
        ServerRole.Primary => ConfiguredRole.Primary,
        ServerRole.Replica => ConfiguredRole.Replica,
        _ => ConfiguredRole.Auto,
    };
}
