using Sluice.Protocol.Messages;
using Sluice.Proxy.Runtime;
using static Sluice.Proxy.Admin.AdminColumns;

namespace Sluice.Proxy.Admin;

/// <summary>
/// SHOW STATS: PgBouncer 1.25's columns in its order. total_* are cumulative since start (times in µs); avg_* cover the
/// last whole stats period (<see cref="StatsPeriod"/>). Parse and bind counts are not tracked and stay 0.
/// </summary>
internal static class StatsView
{
    public static readonly ColumnDescription[] Columns =
    [
        Text("database"), Int8("total_server_assignment_count"), Int8("total_xact_count"), Int8("total_query_count"), Int8("total_received"),
        Int8("total_sent"), Int8("total_xact_time"), Int8("total_query_time"), Int8("total_wait_time"), Int8("total_client_parse_count"),
        Int8("total_server_parse_count"), Int8("total_bind_count"), Int8("avg_server_assignment_count"), Int8("avg_xact_count"),
        Int8("avg_query_count"), Int8("avg_recv"), Int8("avg_sent"), Int8("avg_xact_time"), Int8("avg_query_time"), Int8("avg_wait_time"),
        Int8("avg_client_parse_count"), Int8("avg_server_parse_count"), Int8("avg_bind_count"),
    ];

    public static List<object?[]> Rows(ProxyRuntime runtime, StatsPeriod period)
    {
        var names = runtime.Config.Databases.Select(d => d.Name).Concat(runtime.Stats.All.Select(s => s.Database))
            .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
        var rows = new List<object?[]>();
        foreach (var name in names)
        {
            var total = StatsTotals.Of(runtime.Stats.For(name));
            var average = period.Averages(name);
            rows.Add(
            [
                name, total.ServerAssignments, total.Transactions, total.Queries, total.Received,
                total.Sent, total.TransactionMicros, total.QueryMicros, total.WaitMicros, 0L,
                0L, 0L, average.ServerAssignments, average.Transactions,
                average.Queries, average.Received, average.Sent, average.TransactionMicros, average.QueryMicros, average.WaitMicros,
                0L, 0L, 0L,
            ]);
        }

        return rows;
    }
}
