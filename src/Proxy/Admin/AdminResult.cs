using Sluice.Protocol.Messages;

namespace Sluice.Proxy.Admin;

/// <summary>An error the console reports as an ErrorResponse (severity ERROR): the session goes on.</summary>
internal sealed record AdminError(string SqlState, string Message, string? Hint = null);

/// <summary>
/// What one console statement produced: rows under <see cref="Columns"/> (null for a command that returns none), the
/// CommandComplete tag, warnings to send first, or an <see cref="Error"/> instead of all that.
/// </summary>
internal sealed class AdminResult
{
    private AdminResult(IReadOnlyList<ColumnDescription>? columns, IReadOnlyList<object?[]> rows, string tag, AdminError? error)
    {
        Columns = columns;
        Rows = rows;
        Tag = tag;
        Error = error;
    }

    public IReadOnlyList<ColumnDescription>? Columns { get; }

    public IReadOnlyList<object?[]> Rows { get; }

    public string Tag { get; }

    public AdminError? Error { get; }

    /// <summary>Sent as NoticeResponse (WARNING or NOTICE) before the result.</summary>
    public List<(string Severity, string Message)> Notices { get; } = [];

    /// <summary>Run once the answer has reached the client (SHUTDOWN: the client hears "SHUTDOWN" before the drain closes it).</summary>
    public Func<Task>? AfterFlush { get; set; }

    public static AdminResult Rowset(IReadOnlyList<ColumnDescription> columns, IReadOnlyList<object?[]> rows, string tag) => new(columns, rows, tag, null);

    public static AdminResult Command(string tag) => new(null, [], tag, null);

    public static AdminResult Fail(AdminError error) => new(null, [], "", error);

    public static AdminResult Fail(string sqlState, string message, string? hint = null) => Fail(new AdminError(sqlState, message, hint));

    public AdminResult WithNotice(string severity, string message)
    {
        Notices.Add((severity, message));
        return this;
    }
}
