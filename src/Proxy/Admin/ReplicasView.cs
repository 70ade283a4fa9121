using Sluice.Protocol.Messages;
using Sluice.Proxy.Configuration;
using Sluice.Proxy.Runtime;
using static Sluice.Proxy.Admin.AdminColumns;

namespace Sluice.Proxy.Admin;

/// <summary>
/// SHOW REPLICAS: every server of every database (role tells primaries and replicas apart, so servers with role auto
/// show up too) with what <see cref="HealthState.GetServerHealth"/> knows: state up/down/unknown and the replay lag
/// (null while not measured), next to the lag budget.
/// </summary>
internal static class ReplicasView
{
    public static readonly ColumnDescription[] Columns =
    [
        Text("database"), Text("server"), Text("role"), Text("state"), Int8("lag_bytes"), Float8("lag_seconds"), Float8("max_lag_seconds"),
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
                ]);
            }
        }

        return rows;
    }
}
