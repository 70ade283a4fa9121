using Sluice.Protocol.Messages;
using Sluice.Proxy.Configuration;
using Sluice.Proxy.Runtime;
using Sluice.Proxy.Servers;
using Sluice.Routing.Topology;
using static Sluice.Proxy.Admin.AdminColumns;

namespace Sluice.Proxy.Admin;

/// <summary>
/// SHOW SERVERS: one row per open server connection: lent ones (state active, link = the client's id) and idle ones.
/// Connections still logging in are only counted (SHOW POOLS sv_login). remote_pid is the backend's pid. After
/// PgBouncer's columns, what a failover changes: health (up, down — failed a check, or a connection of the proxy's
/// to it broke and it has not answered a check since — or unchecked), and the failovers of the database so far with
/// the time of the last one.
/// </summary>
internal static class ServersView
{
    public static readonly ColumnDescription[] Columns =
    [
        Text("type"), Text("user"), Text("database"), Text("server"), Text("role"), Text("state"), Text("addr"), Int8("port"),
        Text("local_addr"), Int8("local_port"), Text("connect_time"), Text("request_time"), Int8("id"), Int8("link"), Int8("remote_pid"),
        Text("backend_database"), Text("backend_user"), Text("health"), Int8("failovers"), Text("last_failover"),
    ];

    public static List<object?[]> Rows(ProxyRuntime runtime)
    {
        var config = runtime.Config;
        var rows = new List<(long Id, object?[] Row)>();
        foreach (var client in runtime.Sessions.Keys)
        {
            if (client.LinkedServer is { } server && client.Pool is { } pool)
            {
                rows.Add((server.Id, Row(config, runtime.Health, pool.Database, pool.User, server, "active", client.ClientId)));
            }
        }

        foreach (var pool in runtime.Pools.Pools)
        {
            foreach (var server in pool.IdleSnapshot())
            {
                rows.Add((server.Id, Row(config, runtime.Health, pool.Database, pool.User, server, "idle", null)));
            }
        }

        return rows.OrderBy(r => r.Id).Select(r => r.Row).ToList();
    }

    private static object?[] Row(ProxyConfig config, HealthState health, string database, string user, ServerConnection server, string state, long? link)
    {
        var target = server.Target;
        var role = config.FindDatabase(database) is { } databaseConfig && databaseConfig.Servers.FirstOrDefault(s => s.Name == target.ServerName) is { } serverConfig
            ? ConfigNames.ServerRole.Format(health.GetServerHealth(databaseConfig, serverConfig).Role)
            : null;
        var (localAddress, localPort) = AdminFormat.Split(AdminFormat.LocalEndPoint(() => server.Connection.LocalEndPoint));
        var healthState = health.Topology.Find(database)?.Find(target.ServerName)?.Health switch
        {
            ServerHealth.Up => "up",
            ServerHealth.Down => "down",
            _ => "unchecked",
        };
        var (failovers, lastFailover) = health.Failovers.Of(database);
        return
        [
            "S", user, database, target.ServerName, role, state, target.Host, (long)target.Port,
            localAddress, localPort, AdminFormat.Timestamp(server.CreatedAt), AdminFormat.Timestamp(server.LastUsedAt), server.Id, link, (long)server.ProcessId,
            target.Database, target.User, healthState, failovers, lastFailover is { } at ? AdminFormat.Timestamp(at.UtcDateTime) : null,
        ];
    }
}
