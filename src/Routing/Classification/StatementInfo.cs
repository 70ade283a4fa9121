namespace Sluice.Routing.Classification;

/// <summary>What the classifier found out about one statement of a text.</summary>
public sealed class StatementInfo
{
    internal StatementInfo(StatementKind kind, StatementRoute route, string? reason, int start, int length)
    {
        Kind = kind;
        Route = route;
        Reason = reason;
        Start = start;
        Length = length;
    }

    public StatementKind Kind { get; }

    /// <summary>The statement's own route (hints are not applied here).</summary>
    public StatementRoute Route { get; }

    /// <summary>Why the route is not <see cref="StatementRoute.Read"/> (for logs), else null.</summary>
    public string? Reason { get; }

    /// <summary>Offset of the statement's first token in the classified text (leading comments excluded).</summary>
    public int Start { get; }

    /// <summary>Length of the statement in the classified text, up to its last token (the <c>;</c> excluded).</summary>
    public int Length { get; }

    /// <summary>For <see cref="StatementKind.Begin"/>, <see cref="StatementKind.SetTransaction"/> and <see cref="StatementKind.SetSessionCharacteristics"/>: READ ONLY / READ WRITE.</summary>
    public TransactionAccessMode AccessMode { get; internal init; }

    /// <summary>Session state this statement creates on its server (see <see cref="SessionPinReasons"/>).</summary>
    public SessionPinReasons PinReasons { get; internal init; }

    /// <summary>Session settings this statement changes, in order (empty for most statements).</summary>
    public IReadOnlyList<SessionSetting> SessionSettings { get; internal init; } = [];

    /// <summary>A sluice.route statement the proxy answers itself.</summary>
    public SessionRouteCommand SessionRoute { get; internal init; }

    /// <summary>The value written in <c>SET sluice.route</c> (unquoted, as written), for error messages; else null.</summary>
    public string? SessionRouteValue { get; internal init; }

    /// <summary>
    /// The savepoint a <see cref="StatementKind.Savepoint"/>, <see cref="StatementKind.ReleaseSavepoint"/> or
    /// <see cref="StatementKind.RollbackToSavepoint"/> names (folded like an identifier); else null.
    /// </summary>
    public string? SavepointName { get; internal init; }

    /// <summary>A COMMIT / ROLLBACK (END, ABORT) with <c>AND CHAIN</c>: a new transaction block starts right away.</summary>
    public bool AndChain { get; internal init; }

    /// <summary>
    /// A <see cref="StatementKind.Deallocate"/> of <c>ALL</c>, which drops every prepared statement of the session,
    /// protocol-level ones included; false for <c>DEALLOCATE name</c>, which drops one SQL-level statement.
    /// </summary>
    public bool DeallocatesAll { get; internal init; }

    /// <summary>
    /// The statement a <c>DEALLOCATE [PREPARE] name</c> drops, folded like an identifier (<c>_pg3_0</c>, <c>"S_1"</c> →
    /// <c>S_1</c>); null for <c>DEALLOCATE ALL</c>, other statements, and anything that is not one plain name.
    /// </summary>
    public string? DeallocatedName { get; internal init; }

    public override string ToString() => $"{Kind} → {Route}" + (Reason is null ? "" : $" ({Reason})");
}
