using Sluice.Protocol.Messages;

namespace Sluice.Proxy.Admin;

internal enum AdminStatementKind
{
    Show,
    /// <summary>SHOW of a session setting (server_version, client_encoding, …), as drivers send it.</summary>
    ShowSetting,
    Pause,
    Resume,
    Reload,
    Kill,
    Reconnect,
    Shutdown,
    /// <summary>SET, RESET, DISCARD, DEALLOCATE, UNLISTEN: accepted for the drivers that send them, with no effect.</summary>
    Ignored,
    Begin,
    Commit,
    Rollback,
    /// <summary>A SELECT the console can answer itself (literals, version(), catalog queries of drivers).</summary>
    Select,
}

internal enum ShowTopic
{
    Pools,
    Stats,
    Clients,
    Servers,
    Databases,
    Users,
    Config,
    Version,
    Replicas,
    Peers,
    Help,
}

/// <summary>
/// One parsed console statement. Its columns are known before it runs, so Describe answers without running it (a
/// PAUSE must not happen because a driver asked what it returns).
/// </summary>
internal sealed class AdminStatement
{
    public required AdminStatementKind Kind { get; init; }

    public required string Text { get; init; }

    /// <summary>The result's columns; null for a statement that returns no rows (NoData).</summary>
    public IReadOnlyList<ColumnDescription>? Columns { get; init; }

    public ShowTopic Topic { get; init; }

    /// <summary>The database of PAUSE/RESUME/KILL/RECONNECT (null = all), or the setting of SHOW.</summary>
    public string? Argument { get; init; }

    /// <summary>The CommandComplete tag of a statement without rows.</summary>
    public string Tag { get; init; } = "";

    public SelectPlan? Select { get; init; }
}
