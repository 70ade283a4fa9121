using Sluice.Protocol.Messages;
using Sluice.Proxy.Runtime;
using static Sluice.Proxy.Admin.AdminColumns;

namespace Sluice.Proxy.Admin;

/// <summary>
/// SHOW PEERS: one row per [[peers]] entry, as PgBouncer's: peer_id, host, port; then what this instance did with
/// cancel requests that carried the peer's id since start: forwarded (the peer took the request and closed) and
/// failed (the peer was unreachable or did not answer in time). Requests with an id no entry has are only logged.
/// </summary>
internal static class PeersView
{
    public static readonly ColumnDescription[] Columns =
    [
        Int8("peer_id"), Text("host"), Int8("port"), Int8("cancels_forwarded"), Int8("cancels_failed"),
    ];

    public static List<object?[]> Rows(ProxyRuntime runtime)
    {
        var rows = new List<object?[]>();
        foreach (var (peer, forwarded, failed) in runtime.CancelForwarder.Report(runtime.Config))
        {
            rows.Add([(long)peer.Id, peer.Host, (long)peer.Port, forwarded, failed]);
        }

        return rows;
    }
}
