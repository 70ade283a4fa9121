using Sluice.Protocol.Messages;
using Sluice.Proxy.Configuration;
using Sluice.Proxy.Runtime;
using static Sluice.Proxy.Admin.AdminColumns;

namespace Sluice.Proxy.Admin;

/// <summary>
/// SHOW CLIENTS: one row per logged-in client, admin console sessions included. state: active (a server is linked),
/// waiting (held by PAUSE or queued for a server), idle. id is the client's backend-key pid; link is the id of the
/// linked server (SHOW SERVERS id). pinned: why the client is tied to its server (the reasons as logged, e.g.
/// <c>Listen, AdvisoryLock</c>), empty when it is not.
/// </summary>
internal static class ClientsView
{
    public static readonly ColumnDescription[] Columns =
    [
        Text("type"), Text("user"), Text("database"), Text("state"), Text("addr"), Int8("port"), Text("local_addr"), Int8("local_port"),
        Text("connect_time"), Int8("wait"), Int8("wait_us"), Text("pool_mode"), Int8("id"), Int8("link"), Text("server"), Int8("server_pid"),
        Text("pinned"),
    ];

    public static List<object?[]> Rows(ProxyRuntime runtime)
    {
        var rows = new List<object?[]>();
        foreach (var client in runtime.Sessions.Keys.OrderBy(s => s.ConnectedAtUtc))
        {
            var server = client.LinkedServer;
            var state = client.IsAdminConsole || server is not null ? "active" : client.IsWaiting ? "waiting" : "idle";
            var (address, port) = AdminFormat.Split(client.RemoteEndPoint);
            var (localAddress, localPort) = AdminFormat.Split(AdminFormat.LocalEndPoint(() => client.LocalEndPoint));
            var (wait, waitMicros) = AdminFormat.Wait(client.WaitingFor);
            rows.Add(
            [
                "C", client.UserName, client.DatabaseName, state, address, port, localAddress, localPort,
                AdminFormat.Timestamp(client.ConnectedAtUtc), wait, waitMicros,
                client.IsAdminConsole ? "admin" : ConfigNames.PoolMode.Format(client.Mode), (long)client.ClientId,
                server?.Id, server?.Target.ServerName, server is null ? null : (long)server.ProcessId,
                client.IsPinned ? client.PinReasons.ToString() : "",
            ]);
        }

        return rows;
    }
}
