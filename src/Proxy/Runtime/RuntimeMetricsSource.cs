using Sluice.Proxy.Configuration;
using Sluice.Proxy.Observability;

namespace Sluice.Proxy.Runtime;

/// <summary>
/// The gauges of /metrics, read from the live sessions and pools at scrape time. Every configured (database, user)
/// pool, and every server of it, is reported from the config, at 0 until something happens, so that a dashboard or an
/// alert finds its series from start-up and a reload adds or removes them with the pools.
/// </summary>
internal sealed class RuntimeMetricsSource : IMetricsSource
{
    private readonly ProxyRuntime _runtime;

    public RuntimeMetricsSource(ProxyRuntime runtime)
    {
        _runtime = runtime;
    }

    /// <summary>Every state of every configured pool, plus whatever else has clients (the admin console).</summary>
    public IEnumerable<ClientConnectionsGauge> GetClientConnections()
    {
        var counts = new Dictionary<(string Database, string User, string State), long>();
        foreach (var (database, user) in ConfiguredPools(_runtime.Config))
        {
            foreach (var state in SluiceMetrics.ClientStates)
            {
                counts[(database, user, state)] = 0;
            }
        }

        foreach (var session in _runtime.Sessions.Keys)
        {
            var key = (session.DatabaseName, session.UserName, session.State);
            counts[key] = counts.GetValueOrDefault(key) + 1;
        }

        return counts.Select(c => new ClientConnectionsGauge(c.Key.Database, c.Key.User, c.Key.State, c.Value));
    }

    public IEnumerable<PinnedClientsGauge> GetPinnedClients()
    {
        var counts = ZeroPerPool(_runtime.Config);
        foreach (var session in _runtime.Sessions.Keys)
        {
            if (session.IsPinned && !session.IsAdminConsole)
            {
                var key = (session.DatabaseName, session.UserName);
                counts[key] = counts.GetValueOrDefault(key) + 1;
            }
        }

        return counts.Select(c => new PinnedClientsGauge(c.Key.Database, c.Key.User, c.Value));
    }

    public IEnumerable<ServerConnectionsGauge> GetServerConnections()
    {
        var counts = new Dictionary<(string Database, string User, string Server, string State), long>();
        var config = _runtime.Config;
        foreach (var database in config.Databases)
        {
            foreach (var user in config.Users)
            {
                foreach (var server in database.Servers)
                {
                    foreach (var state in SluiceMetrics.ServerStates)
                    {
                        counts[(database.Name, user.Name, server.Name, state)] = 0;
                    }
                }
            }
        }

        foreach (var pool in _runtime.Pools.Pools)
        {
            var server = pool.Target.ServerName;
            Add(counts, (pool.Database, pool.User, server, "active"), pool.ActiveCount);
            Add(counts, (pool.Database, pool.User, server, "idle"), pool.IdleCount);
            Add(counts, (pool.Database, pool.User, server, "login"), pool.ConnectingCount);
        }

        // The role the health monitor found (a promoted replica is labelled primary), as sluice_server_up labels it.
        return counts.Select(c => new ServerConnectionsGauge(
            c.Key.Database, c.Key.User, c.Key.Server, _runtime.Health.RoleOf(c.Key.Database, c.Key.Server), c.Key.State, c.Value));
    }

    /// <summary>Per (database, user): a pool per server, so their waiting clients add up.</summary>
    public IEnumerable<PoolWaitingClientsGauge> GetPoolWaitingClients()
    {
        var counts = ZeroPerPool(_runtime.Config);
        foreach (var pool in _runtime.Pools.Pools)
        {
            Add(counts, (pool.Database, pool.User), pool.WaitingCount);
        }

        return counts.Select(c => new PoolWaitingClientsGauge(c.Key.Database, c.Key.User, c.Value));
    }

    public IEnumerable<ServerStatusGauge> GetServers() => _runtime.Health.Servers();

    public IEnumerable<ReadFloorGauge> GetReadFloors() => _runtime.Health.ReadFloors();

    /// <summary>Every (database, user) a client may log in to: each configured database with each configured user.</summary>
    private static IEnumerable<(string Database, string User)> ConfiguredPools(ProxyConfig config) =>
        config.Databases.SelectMany(database => config.Users.Select(user => (database.Name, user.Name)));

    private static Dictionary<(string Database, string User), long> ZeroPerPool(ProxyConfig config) =>
        ConfiguredPools(config).Distinct().ToDictionary(pool => pool, _ => 0L);

    private static void Add<TKey>(Dictionary<TKey, long> counts, TKey key, long count)
        where TKey : notnull =>
        counts[key] = counts.GetValueOrDefault(key) + count;
}
