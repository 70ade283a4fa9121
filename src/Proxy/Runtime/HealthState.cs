using Sluice.Proxy.Configuration;
using Sluice.Proxy.Observability;

namespace Sluice.Proxy.Runtime;

/// <summary>
/// Answers /primary and /replica from what the proxy knows of its servers. Until server monitoring exists, a server
/// counts as healthy while its role is configured and it was not found unreachable.
/// </summary>
internal sealed class HealthState
{
    private readonly Func<ProxyConfig> _config;

    public HealthState(Func<ProxyConfig> config)
    {
        _config = config;
    }

    public (bool Ok, string Detail) AllDatabasesHavePrimary() => Check(static s => s.Role is ServerRole.Primary or ServerRole.Auto);

    public (bool Ok, string Detail) AllDatabasesHaveReplica() => Check(static s => s.Role is ServerRole.Replica);

    /// <summary>
    /// What is known of one server right now (SHOW REPLICAS, SHOW SERVERS). Until the health monitor exists: the
    /// configured role, reachability and lag unknown (null). The monitor fills this in.
    /// </summary>
    public ServerHealth GetServerHealth(DatabaseConfig database, BackendServerConfig server) =>
        new(database.Name, server.Name, server.Role, Up: null, LagBytes: null, LagSeconds: null);

    /// <summary>Every configured server with what is known of it, for sluice_server_up and the lag gauges.</summary>
    public IEnumerable<ServerStatusGauge> Servers()
    {
        foreach (var database in _config().Databases)
        {
            foreach (var server in database.Servers)
            {
                yield return new ServerStatusGauge(database.Name, server.Name, ConfigNames.ServerRole.Format(server.Role), Up: true);
            }
        }
    }

    private (bool Ok, string Detail) Check(Func<BackendServerConfig, bool> fits)
    {
        foreach (var database in _config().Databases)
        {
            if (!database.Servers.Any(fits))
            {
                return (false, $"database {database.Name}");
            }
        }

        return (true, "");
    }
}
