namespace Sluice.Protocol.Messages;

/// <summary>The fields of an ErrorResponse or NoticeResponse the proxy cares about.</summary>
public sealed record ErrorFields
{
    /// <summary>
    /// Severity, e.g. ERROR, FATAL: the non-localized 'V' field when the server sent it (PostgreSQL 9.6+), else the
    /// possibly localized 'S' field, so <see cref="IsFatal"/> works whatever lc_messages is.
    /// </summary>
    public string Severity { get; init; } = "";

    /// <summary>'C' SQLSTATE code.</summary>
    public string SqlState { get; init; } = "";

    /// <summary>'M' primary message.</summary>
    public string Message { get; init; } = "";

    public string? Detail { get; init; }

    public string? Hint { get; init; }

    public bool IsFatal => Severity is "FATAL" or "PANIC";
}
