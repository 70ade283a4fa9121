using Sluice.Protocol.Messages;
using Sluice.Proxy.Configuration;
using Sluice.Proxy.Runtime;
using static Sluice.Proxy.Admin.AdminColumns;

namespace Sluice.Proxy.Admin;

/// <summary>
/// SHOW POOLS: one row per (database, user), summed over the servers of the database, so the label set PgBouncer
/// exporters build from (database, user) stays unique; SHOW SERVERS has the per-server detail. PgBouncer's columns
/// first, by its names, then cl_idle (logged-in clients neither linked nor waiting).
/// </summary>
internal static class PoolsView
{
    public static readonly ColumnDescription[] Columns =
    [
        Text("database"), Text("user"), Int8("cl_active"), Int8("cl_waiting"), Int8("cl_active_cancel_req"), Int8("cl_waiting_cancel_req"),
        Int8("sv_active"), Int8("sv_active_cancel"), Int8("sv_being_canceled"), Int8("sv_idle"), Int8("sv_used"), Int8("sv_tested"),
        Int8("sv_login"), Int8("maxwait"), Int8("maxwait_us"), Text("pool_mode"), Int8("cl_idle"),
    ];

    public static List<object?[]> Rows(ProxyRuntime runtime)
    {
        var clients = runtime.Sessions.Keys.Where(s => s.Pool is not null && !s.IsAdminConsole).ToList();
        var rows = new List<object?[]>();
        foreach (var group in runtime.Pools.Pools.GroupBy(p => (p.Database, p.User)).OrderBy(g => g.Key.Database, StringComparer.Ordinal).ThenBy(g => g.Key.User, StringComparer.Ordinal))
        {
            var (database, user) = group.Key;
            var mine = clients.Where(s => s.DatabaseName == database && s.UserName == user).ToList();
            var linked = mine.Count(s => s.IsLinked);
            var waitingClients = mine.Count(s => s.IsWaiting && !s.IsLinked);

            // Clients queued in the pool are counted by the pool too; the larger count is right if a session's flag lags.
            var waiting = Math.Max(waitingClients, group.Sum(p => p.WaitingCount));
            var longestWait = group.Select(p => p.OldestWait).Concat(mine.Select(s => s.WaitingFor)).DefaultIfEmpty(TimeSpan.Zero).Max();
            var (maxWait, maxWaitMicros) = AdminFormat.Wait(longestWait);
            rows.Add(
            [
                database, user, (long)linked, (long)waiting, 0L, 0L,
                (long)group.Sum(p => p.ActiveCount), 0L, 0L, (long)group.Sum(p => p.IdleCount), 0L, 0L,
                (long)group.Sum(p => p.ConnectingCount), maxWait, maxWaitMicros, ConfigNames.PoolMode.Format(group.First().Settings.Mode),
                (long)Math.Max(0, mine.Count - linked - waitingClients),
            ]);
        }

        return rows;
    }
}
