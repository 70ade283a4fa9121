using Sluice.Protocol.Messages;
using Sluice.Proxy.Configuration;
using Sluice.Proxy.Runtime;
using static Sluice.Proxy.Admin.AdminColumns;

namespace Sluice.Proxy.Admin;

/// <summary>
/// SHOW DATABASES: one row per configured database with PgBouncer's columns (host/port of its primary, or first server)
/// and all its servers in <c>servers</c> ("host:port role, …"). max_connections is max_server_connections (PgBouncer's
/// max_db_connections, per server; 0 = no cap); max_client_connections the cap on its clients.
/// </summary>
internal static class DatabasesView
{
    public static readonly ColumnDescription[] Columns =
    [
        Text("name"), Text("host"), Int8("port"), Text("database"), Text("force_user"), Int8("pool_size"), Int8("min_pool_size"),
        Int8("reserve_pool_size"), Int8("server_lifetime"), Text("pool_mode"), Int8("max_connections"), Int8("current_connections"),
        Int8("max_client_connections"), Int8("current_client_connections"), Int8("paused"), Int8("disabled"), Text("servers"),
    ];

    public static List<object?[]> Rows(ProxyRuntime runtime)
    {
        var config = runtime.Config;
        var rows = new List<object?[]>();
        foreach (var database in config.Databases)
        {
            var main = database.Servers.FirstOrDefault(s => s.Role == ServerRole.Primary) ?? database.Servers.FirstOrDefault();
            var servers = string.Join(", ", database.Servers.Select(s => $"{s.Name} {ConfigNames.ServerRole.Format(runtime.Health.GetServerHealth(database, s).Role)}"));
            rows.Add(
            [
                database.Name, main?.Host, main is null ? null : (long)main.Port, database.BackendDatabase ?? database.Name, null,
                (long)(database.PoolSize ?? config.Pool.Size), (long)(database.MinPoolSize ?? config.Pool.MinSize),
                (long)(database.ReservePoolSize ?? config.Pool.ReservePoolSize), (long)config.Pool.ServerLifetime.TotalSeconds,
                ConfigNames.PoolMode.Format(database.PoolMode ?? config.Pool.Mode), (long)(database.MaxServerConnections ?? 0),
                (long)runtime.Pools.Pools.Where(p => p.Database == database.Name).Sum(p => p.TotalCount),
                (long)(database.MaxClientConnections ?? 0), (long)runtime.Sessions.Keys.Count(s => s.DatabaseName == database.Name && !s.IsAdminConsole),
                AdminFormat.Flag(runtime.Pools.IsPaused(database.Name)), 0L, servers,
            ]);
        }

        return rows;
    }
}
