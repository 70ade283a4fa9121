using Microsoft.Extensions.Logging;
using Sluice.Routing.Topology;

namespace Sluice.Proxy.Health;

internal sealed partial class HealthMonitor
{
    private void LogTransitions(TopologySettings settings, DatabaseTopology oldDatabase, DatabaseTopology newDatabase, ServerState before, ServerState after, string? login)
    {
        var database = newDatabase.Name;
        var server = after.Name;
        var role = RoleNames.Of(after.Role);
        if (after.Health == ServerHealth.Down)
        {
            if (before.Health != ServerHealth.Down)
            {
                if (after.BannedUntil is { } until)
                {
                    LogBanned(_logger, server, database, role, after.LastError ?? "", login ?? "", settings.BanTime.TotalSeconds, until);
                }
                else
                {
                    LogDown(_logger, server, database, role, after.LastError ?? "", login ?? "");
                }
            }
            else
            {
                LogStillDown(_logger, server, database, after.LastError ?? "");
            }
        }
        else if (after.Health == ServerHealth.Up && before.Health != ServerHealth.Up)
        {
            if (before.Health == ServerHealth.Down)
            {
                LogBackUp(_logger, server, database, role);
            }
            else
            {
                LogFirstUp(_logger, server, database, role, after.WalLsn?.ToString() ?? "");
            }
        }

        if (before.ObservedRole != ObservedRole.Unknown && after.ObservedRole != ObservedRole.Unknown && before.ObservedRole != after.ObservedRole)
        {
            LogRoleChanged(_logger, server, database, RoleNames.Of(before.ObservedRole), RoleNames.Of(after.ObservedRole), after.ConfiguredRole.ToString().ToLowerInvariant());
        }

        if (after.Health == ServerHealth.Up && after.Role == ObservedRole.Replica)
        {
            var wasWithin = before.Health == ServerHealth.Up && before.Role == ObservedRole.Replica && LagBudget.IsWithin(before, settings.MaxReplicaLag);
            var isWithin = LagBudget.IsWithin(after, settings.MaxReplicaLag);
            if (wasWithin && !isWithin)
            {
                LogOverBudget(_logger, server, database, after.Lag?.TotalSeconds ?? double.NaN, after.LagBytes ?? -1, settings.MaxReplicaLag.TotalSeconds);
            }
            else if (!wasWithin && isWithin && before.Health == ServerHealth.Up && before.Role == ObservedRole.Replica)
            {
                LogWithinBudget(_logger, server, database, after.Lag?.TotalSeconds ?? 0);
            }
            else if (!isWithin && before.Health != ServerHealth.Up)
            {
                LogOverBudget(_logger, server, database, after.Lag?.TotalSeconds ?? double.NaN, after.LagBytes ?? -1, settings.MaxReplicaLag.TotalSeconds);
            }
        }

        var wasFenced = oldDatabase.IsFenced;
        var isFenced = newDatabase.IsFenced;
        if (!wasFenced && isFenced)
        {
            LogFenced(_logger, database, string.Join(", ", newDatabase.Servers.Where(s => s.IsWritable).Select(s => s.Name)));
        }
        else if (wasFenced && !isFenced)
        {
            LogUnfenced(_logger, database);
        }

        var oldPrimary = oldDatabase.Primary?.Name;
        var newPrimary = newDatabase.Primary?.Name;
        if (newPrimary is not null && oldPrimary != newPrimary && newDatabase.Primary!.Health == ServerHealth.Up)
        {
            LogPrimary(_logger, database, newPrimary);
        }
        else if (newPrimary is null && !isFenced && (oldPrimary is not null || wasFenced))
        {
            LogNoPrimary(_logger, database);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "server {Server} of database {Database} ({Role}) failed its health check as {Login}: {Error}; banned for {BanSeconds} s (until {BannedUntil:O})")]
    private static partial void LogBanned(ILogger logger, string server, string database, string role, string error, string login, double banSeconds, DateTimeOffset bannedUntil);

    [LoggerMessage(Level = LogLevel.Error, Message = "server {Server} of database {Database} ({Role}) failed its health check as {Login}: {Error}; no writes go to it until a check passes")]
    private static partial void LogDown(ILogger logger, string server, string database, string role, string error, string login);

    [LoggerMessage(Level = LogLevel.Debug, Message = "server {Server} of database {Database} still fails its health check: {Error}")]
    private static partial void LogStillDown(ILogger logger, string server, string database, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "server {Server} of database {Database} passes its health check again ({Role}); unbanned")]
    private static partial void LogBackUp(ILogger logger, string server, string database, string role);

    [LoggerMessage(Level = LogLevel.Information, Message = "server {Server} of database {Database} is up: {Role} at WAL position {Lsn}")]
    private static partial void LogFirstUp(ILogger logger, string server, string database, string role, string lsn);

    [LoggerMessage(Level = LogLevel.Warning, Message = "server {Server} of database {Database} changed role: {OldRole} -> {NewRole} (configured: {ConfiguredRole}); routing follows the server")]
    private static partial void LogRoleChanged(ILogger logger, string server, string database, string oldRole, string newRole, string configuredRole);

    [LoggerMessage(Level = LogLevel.Warning, Message = "replica {Server} of database {Database} is {LagSeconds:0.###} s ({LagBytes} bytes) behind, over max_replica_lag {BudgetSeconds} s: no reads go to it until it catches up")]
    private static partial void LogOverBudget(ILogger logger, string server, string database, double lagSeconds, long lagBytes, double budgetSeconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "replica {Server} of database {Database} is back within the lag budget ({LagSeconds:0.###} s behind)")]
    private static partial void LogWithinBudget(ILogger logger, string server, string database, double lagSeconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "database {Database} has more than one writable server ({Servers}): writes are refused (fenced) until all but one are standbys again")]
    private static partial void LogFenced(ILogger logger, string database, string servers);

    [LoggerMessage(Level = LogLevel.Warning, Message = "database {Database} has a single writable server again: writes resume")]
    private static partial void LogUnfenced(ILogger logger, string database);

    [LoggerMessage(Level = LogLevel.Warning, Message = "database {Database}: the writable primary is now {Server}")]
    private static partial void LogPrimary(ILogger logger, string database, string server);

    [LoggerMessage(Level = LogLevel.Error, Message = "database {Database} has no writable primary: writes fail with 08006 until one is found")]
    private static partial void LogNoPrimary(ILogger logger, string database);

    [LoggerMessage(Level = LogLevel.Warning, Message = "server {Server} of database {Database} is not health-checked: no [[users]] entry has a plain-text password (or server_password) to log in with; its configured role is trusted and, as a replica, it gets no reads")]
    private static partial void LogUnmonitored(ILogger logger, string server, string database);
}
