using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Sluice.Protocol.Messages;
using Sluice.Proxy.Cli;
using Sluice.Proxy.Runtime;
using static Sluice.Proxy.Admin.AdminColumns;

namespace Sluice.Proxy.Admin;

/// <summary>
/// The admin console's commands, shared by every console session of one proxy: the SHOW views and PAUSE, RESUME,
/// RELOAD, KILL, RECONNECT, SHUTDOWN. Sessions (<see cref="AdminSession"/>) speak the protocol and call in here.
/// </summary>
internal sealed partial class AdminConsole : IDisposable
{
    private static readonly ColumnDescription[] s_versionColumns = [Text("version")];
    private static readonly ColumnDescription[] s_helpColumns = [Text("command"), Text("description")];

    private static readonly object?[][] s_help =
    [
        ["SHOW POOLS", "clients and servers per (database, user)"],
        ["SHOW STATS", "transactions, queries, bytes and times per database"],
        ["SHOW CLIENTS", "every client connection"],
        ["SHOW SERVERS", "every server connection"],
        ["SHOW DATABASES", "configured databases"],
        ["SHOW USERS", "configured users"],
        ["SHOW CONFIG", "settings in force"],
        ["SHOW VERSION", "the proxy's version"],
        ["SHOW REPLICAS", "servers with their role, state and replication lag"],
        ["SHOW PEERS", "the other instances cancel requests are forwarded to"],
        ["SHOW HELP", "this list"],
        ["PAUSE [db]", "hold new transactions; returns when running ones have finished"],
        ["RESUME [db]", "let held transactions go on"],
        ["RELOAD", "re-read the configuration file"],
        ["KILL db", "disconnect the database's clients (57P01) and close its servers"],
        ["RECONNECT [db]", "replace server connections (idle ones now, busy ones when they come back)"],
        ["SHUTDOWN", "drain and stop the proxy"],
    ];

    private readonly ProxyRuntime _runtime;
    private readonly StatsPeriod _stats;
    private readonly ILogger _logger;

    public AdminConsole(ProxyRuntime runtime)
    {
        _runtime = runtime;
        _stats = new StatsPeriod(runtime.Stats, StatsPeriod.DefaultPeriod);
        _logger = runtime.LoggerFactory.CreateLogger<AdminConsole>();
    }

    public static string Version => CommandLine.Version;

    /// <summary>The server_version clients are told: a PostgreSQL version drivers accept, and who really answers.</summary>
    public static string ServerVersion => $"15.0 (Sluice {Version})";

    /// <summary>What <c>SELECT version()</c> answers.</summary>
    public static string LongVersion => $"PostgreSQL 15.0 (Sluice {Version} admin console)";

    public static IReadOnlyList<ColumnDescription> ColumnsOf(ShowTopic topic) => topic switch
    {
        ShowTopic.Pools => PoolsView.Columns,
        ShowTopic.Stats => StatsView.Columns,
        ShowTopic.Clients => ClientsView.Columns,
        ShowTopic.Servers => ServersView.Columns,
        ShowTopic.Databases => DatabasesView.Columns,
        ShowTopic.Users => UsersView.Columns,
        ShowTopic.Config => ConfigView.Columns,
        ShowTopic.Version => s_versionColumns,
        ShowTopic.Replicas => ReplicasView.Columns,
        ShowTopic.Peers => PeersView.Columns,
        ShowTopic.Help => s_helpColumns,
        _ => throw new ArgumentOutOfRangeException(nameof(topic), topic, null),
    };

    /// <summary>A session setting as SHOW and current_setting() report it; null when unknown.</summary>
    public static string? Setting(AdminContext context, string name)
    {
        foreach (var (key, value) in context.Settings)
        {
            if (key.Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return value;
            }
        }

        return null;
    }

    /// <summary>Runs a statement that acts on the proxy (SHOW views and control commands).</summary>
    public async Task<AdminResult> ExecuteAsync(AdminStatement statement, AdminContext context, CancellationToken cancellationToken)
    {
        switch (statement.Kind)
        {
            case AdminStatementKind.Show:
                return AdminResult.Rowset(statement.Columns!, Show(statement.Topic), "SHOW");
            case AdminStatementKind.ShowSetting:
                return AdminResult.Rowset(statement.Columns!, [[Setting(context, statement.Argument!)]], "SHOW");
            case AdminStatementKind.Select:
                var rows = statement.Select!.Rows(context);
                return AdminResult.Rowset(statement.Columns!, rows, $"SELECT {rows.Count}");
        }

        LogCommand(_logger, context.User, statement.Text);
        return statement.Kind switch
        {
            AdminStatementKind.Pause => await PauseAsync(statement.Argument, cancellationToken),
            AdminStatementKind.Resume => Resume(statement.Argument),
            AdminStatementKind.Reload => Reload(),
            AdminStatementKind.Kill => Kill(statement.Argument!),
            AdminStatementKind.Reconnect => Reconnect(statement.Argument),
            AdminStatementKind.Shutdown => Shutdown(),
            _ => throw new ArgumentOutOfRangeException(nameof(statement), statement.Kind, "not a console command"),
        };
    }

    public void Dispose() => _stats.Dispose();

    private List<object?[]> Show(ShowTopic topic) => topic switch
    {
        ShowTopic.Pools => PoolsView.Rows(_runtime),
        ShowTopic.Stats => StatsView.Rows(_runtime, _stats),
        ShowTopic.Clients => ClientsView.Rows(_runtime),
        ShowTopic.Servers => ServersView.Rows(_runtime),
        ShowTopic.Databases => DatabasesView.Rows(_runtime),
        ShowTopic.Users => UsersView.Rows(_runtime),
        ShowTopic.Config => ConfigView.Rows(_runtime.Config),
        ShowTopic.Version => [["Sluice " + Version]],
        ShowTopic.Replicas => ReplicasView.Rows(_runtime),
        ShowTopic.Peers => PeersView.Rows(_runtime),
        ShowTopic.Help => [.. s_help],
        _ => throw new ArgumentOutOfRangeException(nameof(topic), topic, null),
    };

    /// <summary>
    /// PAUSE [db]: new transactions wait at the pool's gate; returns when no server of the paused pools is lent any
    /// more, or after server.shutdown_timeout with a warning (the pause stays in force either way). Idle servers are
    /// closed, as PgBouncer does, so the servers behind can be restarted.
    /// </summary>
    private async Task<AdminResult> PauseAsync(string? database, CancellationToken cancellationToken)
    {
        if (CheckDatabase(database, "PAUSE") is { } error)
        {
            return error;
        }

        _runtime.Pools.Pause(database);
        _runtime.IsPaused = true;
        var timeout = _runtime.Config.Server.ShutdownTimeout;
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            if (!(database is null ? _runtime.Pools.AnyPaused : _runtime.Pools.IsPaused(database)))
            {
                return AdminResult.Command("PAUSE").WithNotice("NOTICE", "resumed while PAUSE was waiting for running transactions");
            }

            var lent = _runtime.Pools.Pools.Where(p => database is null || p.Database == database).Sum(p => p.ActiveCount);
            if (lent == 0)
            {
                LogPaused(_logger, database ?? "(all)");
                return AdminResult.Command("PAUSE");
            }

            if (timeout > TimeSpan.Zero && Stopwatch.GetElapsedTime(started) >= timeout)
            {
                LogPauseTimedOut(_logger, database ?? "(all)", lent, timeout.TotalSeconds);
                return AdminResult.Command("PAUSE").WithNotice("WARNING",
                    $"{lent} server connection(s) still in use after {timeout.TotalSeconds:0.###}s (server.shutdown_timeout); new transactions are held until RESUME");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(20), cancellationToken);
        }
    }

    private AdminResult Resume(string? database)
    {
        if (CheckDatabase(database, "RESUME") is { } error)
        {
            return error;
        }

        var paused = database is null ? _runtime.Pools.AnyPaused : _runtime.Pools.IsPaused(database);
        _runtime.Pools.Resume(database, _runtime.Config.Databases.Select(d => d.Name));
        _runtime.IsPaused = _runtime.Pools.AnyPaused;
        return paused ? AdminResult.Command("RESUME") : AdminResult.Command("RESUME").WithNotice("NOTICE", database is null ? "nothing is paused" : $"database \"{database}\" is not paused");
    }

    private AdminResult Reload()
    {
        if (_runtime.ReloadRequested is not { } reload)
        {
            return AdminResult.Fail(SqlState.FeatureNotSupported, "RELOAD is not available: this proxy was not started from a configuration file");
        }

        // 22023 rather than F0000 (config_file_error): drivers such as Npgsql drop the connection on class F0.
        return reload() is { } failure
            ? AdminResult.Fail(SqlState.InvalidParameterValue, "reload failed, the previous configuration stays: " + failure)
            : AdminResult.Command("RELOAD");
    }

    private AdminResult Kill(string database)
    {
        if (CheckDatabase(database, "KILL") is { } error)
        {
            return error;
        }

        foreach (var pool in _runtime.Pools.Pools.Where(p => p.Database == database))
        {
            pool.Reconnect();
        }

        var killed = 0;
        foreach (var client in _runtime.Sessions.Keys.Where(s => s.DatabaseName == database && !s.IsAdminConsole))
        {
            client.Kill($"terminating connection due to administrator command (KILL \"{database}\")");
            killed++;
        }

        LogKilled(_logger, database, killed);
        return AdminResult.Command("KILL");
    }

    private AdminResult Reconnect(string? database)
    {
        if (CheckDatabase(database, "RECONNECT") is { } error)
        {
            return error;
        }

        foreach (var pool in _runtime.Pools.Pools.Where(p => database is null || p.Database == database))
        {
            pool.Reconnect();
        }

        return AdminResult.Command("RECONNECT");
    }

    private AdminResult Shutdown()
    {
        if (_runtime.ShutdownRequested is not { } shutdown)
        {
            return AdminResult.Fail(SqlState.FeatureNotSupported, "SHUTDOWN is not available here");
        }

        // Started once the client has its answer; the drain then closes this session too (57P01).
        var result = AdminResult.Command("SHUTDOWN");
        result.AfterFlush = () =>
        {
            _ = Task.Run(shutdown);
            return Task.CompletedTask;
        };
        return result;
    }

    /// <summary>A database a command can act on: configured, or still with pools or clients after a reload removed it.</summary>
    private AdminResult? CheckDatabase(string? database, string command)
    {
        if (database is null)
        {
            return null;
        }

        if (database == _runtime.Config.Server.AdminDatabase)
        {
            return AdminResult.Fail(SqlState.FeatureNotSupported, $"{command} does not apply to the admin console's database");
        }

        var known = _runtime.Config.FindDatabase(database) is not null
            || _runtime.Pools.Pools.Any(p => p.Database == database)
            || _runtime.Sessions.Keys.Any(s => s.DatabaseName == database);
        return known ? null : AdminResult.Fail(SqlState.InvalidCatalogName, $"database \"{database}\" does not exist");
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "admin console: {User} ran {Command}")]
    private static partial void LogCommand(ILogger logger, string user, string command);

    [LoggerMessage(Level = LogLevel.Information, Message = "paused {Database}: no transaction running; new ones are held until RESUME")]
    private static partial void LogPaused(ILogger logger, string database);

    [LoggerMessage(Level = LogLevel.Warning, Message = "PAUSE {Database}: {Count} server connection(s) still in use after {Seconds}s; new transactions are held")]
    private static partial void LogPauseTimedOut(ILogger logger, string database, int count, double seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "KILL {Database}: {Count} client(s) disconnected")]
    private static partial void LogKilled(ILogger logger, string database, int count);
}
