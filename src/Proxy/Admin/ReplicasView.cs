using Sluice.Protocol.Messages;
using Sluice.Proxy.Configuration;
using Sluice.Proxy.Runtime;
using static Sluice.Proxy.Admin.AdminColumns;

namespace Sluice.Proxy.Admin;

/// <summary>
/// SHOW REPLICAS: every server of every database (role tells primaries and replicas apart, so servers with role auto
/// show up too) with what <see cref="HealthState.GetServerHealth"/> knows: state up/down/unknown and the replay lag
/// (null while not measured), next to the lag budget; wal_lsn (a primary's insert position, a replica's replay position)
/// and the database's read_floor, the position a replica must have replayed to take causal reads (null before the
/// first write through the proxy is covered).
/// </summary>
internal static class ReplicasView
{
    public static readonly ColumnDescription[] Columns =
    [
        Text("database"), Text("server"), Text("role"), Text("state"), Int8("lag_bytes"), Float8("lag_seconds"), Float8("max_lag_seconds"),
        Text("wal_lsn"), Text("read_floor"),
    ];

    public static List<object?[]> Rows(ProxyRuntime runtime)
    {
        var config = runtime.Config;
        var rows = new List<object?[]>();
        foreach (var database in config.Databases)
        {
            foreach (var server in database.Servers)
            {
                var health = runtime.Health.GetServerHealth(database, server);
                rows.Add(
                [
                    database.Name, health.Server, ConfigNames.ServerRole.Format(health.Role),
                    health.Up switch { true => "up", false => "down", null => "unknown" },
                    health.LagBytes, health.LagSeconds, config.Routing.MaxReplicaLag.TotalSeconds,
                    health.WalLsn, runtime.Health.ReadFloor(database.Name)?.ToString(),
                ]);
            }
        }

        return rows;
    }
}
