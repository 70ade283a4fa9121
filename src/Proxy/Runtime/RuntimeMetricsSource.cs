using Sluice.Proxy.Observability;

namespace Sluice.Proxy.Runtime;

/// <summary>The gauges of /metrics, read from the live sessions and pools at scrape time.</summary>
internal sealed class RuntimeMetricsSource : IMetricsSource
{
    private readonly ProxyRuntime _runtime;

    public RuntimeMetricsSource(ProxyRuntime runtime)
    {
        _runtime = runtime;
    }

    public IEnumerable<ClientConnectionsGauge> GetClientConnections()
    {
        var counts = new Dictionary<(string Database, string User, string State), long>();
        foreach (var session in _runtime.Sessions.Keys)
        {
            var key = (session.DatabaseName, session.UserName, session.State);
            counts[key] = counts.GetValueOrDefault(key) + 1;
        }

        foreach (var ((database, user, state), count) in counts)
        {
            yield return new ClientConnectionsGauge(database, user, state, count);
        }
    }

    /// <summary>Every (database, user) with a client connected, 0 when none of them is pinned, so the series exists before the first pin.</summary>
    public IEnumerable<PinnedClientsGauge> GetPinnedClients()
    {
        var counts = new Dictionary<(string Database, string User), long>();
        foreach (var session in _runtime.Sessions.Keys)
        {
            if (session.IsAdminConsole)
            {
                continue;
            }

            var key = (session.DatabaseName, session.UserName);
            counts[key] = counts.GetValueOrDefault(key) + (session.IsPinned ? 1 : 0);
        }

        foreach (var ((database, user), count) in counts)
        {
            yield return new PinnedClientsGauge(database, user, count);
        }
    }

    public IEnumerable<ServerConnectionsGauge> GetServerConnections()
    {
        foreach (var pool in _runtime.Pools.Pools)
        {
            var role = RoleOf(pool.Database, pool.Target.ServerName);
            yield return new ServerConnectionsGauge(pool.Database, pool.User, pool.Target.ServerName, role, "active", pool.ActiveCount);
            yield return new ServerConnectionsGauge(pool.Database, pool.User, pool.Target.ServerName, role, "idle", pool.IdleCount);
            yield return new ServerConnectionsGauge(pool.Database, pool.User, pool.Target.ServerName, role, "login", pool.ConnectingCount);
        }
    }

    public IEnumerable<PoolWaitingClientsGauge> GetPoolWaitingClients()
    {
        foreach (var pool in _runtime.Pools.Pools)
        {
            yield return new PoolWaitingClientsGauge(pool.Database, pool.User, pool.WaitingCount);
        }
    }

    public IEnumerable<ServerStatusGauge> GetServers()
    {
        foreach (var status in _runtime.Health.Servers())
        {
            yield return status;
        }
    }

    public IEnumerable<ReadFloorGauge> GetReadFloors() => _runtime.Health.ReadFloors();

    // The role the health monitor found (a promoted replica is labelled primary), as sluice_server_up labels it.
    private string RoleOf(string database, string server) => _runtime.Health.RoleOf(database, server);
}
