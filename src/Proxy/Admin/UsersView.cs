using Sluice.Protocol.Messages;
using Sluice.Proxy.Configuration;
using Sluice.Proxy.Runtime;
using static Sluice.Proxy.Admin.AdminColumns;

namespace Sluice.Proxy.Admin;

/// <summary>
/// SHOW USERS: one row per configured user. pool_mode and pool_size are the user's own overrides (null: the
/// database's or [pool]'s apply); max_client_connections is the cap in force (0 = none); current_connections counts
/// server connections of the user's pools; max_server_connections (per server, 0 = no cap), connection_rate and
/// transaction_rate (per second, 0 = none) are the user's limits. Passwords are never shown.
/// </summary>
internal static class UsersView
{
    public static readonly ColumnDescription[] Columns =
    [
        Text("name"), Text("auth"), Text("pool_mode"), Int8("pool_size"), Int8("max_client_connections"), Int8("current_client_connections"),
        Int8("current_connections"), Int8("admin"), Int8("max_server_connections"), Int8("connection_rate"), Int8("transaction_rate"),
    ];

    public static List<object?[]> Rows(ProxyRuntime runtime)
    {
        var config = runtime.Config;
        var rows = new List<object?[]>();
        foreach (var user in config.Users)
        {
            rows.Add(
            [
                user.Name, ConfigNames.AuthMethod.Format(user.Auth), user.PoolMode is { } mode ? ConfigNames.PoolMode.Format(mode) : null,
                user.PoolSize is { } size ? (long)size : null, (long)(user.MaxClientConnections ?? config.Limits.MaxUserClientConnections),
                (long)runtime.Sessions.Keys.Count(s => s.UserName == user.Name),
                (long)runtime.Pools.Pools.Where(p => p.User == user.Name).Sum(p => p.TotalCount),
                AdminFormat.Flag(config.Server.AdminUsers.Contains(user.Name)), (long)(user.MaxServerConnections ?? 0),
                (long)(user.ConnectionRate ?? 0), (long)(user.TransactionRate ?? 0),
            ]);
        }

        return rows;
    }
}
