namespace Sluice.Routing.Classification;

/// <summary>
/// The classification of one SQL text (a simple Query message may hold several statements; a Parse message holds one).
/// Immutable and shared: cached results are handed to every caller with the same text.
/// </summary>
public sealed class ClassificationResult
{
    internal ClassificationResult(RouteHint hint, IReadOnlyList<StatementInfo> statements)
    {
        Hint = hint;
        Statements = statements;

        var classified = StatementRoute.Read;
        var pins = SessionPinReasons.None;
        List<SessionSetting>? settings = null;
        foreach (var statement in statements)
        {
            if (statement.Route == StatementRoute.Unknown)
            {
                classified = StatementRoute.Unknown;
            }
            else if (statement.Route == StatementRoute.Write && classified == StatementRoute.Read)
            {
                classified = StatementRoute.Write;
            }

            if (statement.Route != StatementRoute.Read)
            {
                Reason ??= statement.Reason;
            }

            pins |= statement.PinReasons;
            if (statement.SessionSettings.Count > 0)
            {
                (settings ??= []).AddRange(statement.SessionSettings);
            }

            switch (statement.Kind)
            {
                case StatementKind.Begin:
                    IsBegin = true;
                    BeginReadOnly = statement.AccessMode == TransactionAccessMode.ReadOnly;
                    break;
                case StatementKind.Commit or StatementKind.Rollback or StatementKind.PrepareTransaction:
                    IsCommitOrRollback = true;
                    break;
                case StatementKind.SetTransaction or StatementKind.SetSessionCharacteristics:
                    IsSetTransactionReadOnly |= statement.AccessMode == TransactionAccessMode.ReadOnly;
                    IsSetTransactionReadWrite |= statement.AccessMode == TransactionAccessMode.ReadWrite;
                    break;
                default:
                    break;
            }
        }

        ClassifiedRoute = classified;
        Route = hint switch
        {
            RouteHint.Primary => StatementRoute.Write,
            RouteHint.Replica => StatementRoute.Read,
            _ => classified,
        };
        PinReasons = pins;
        SessionSettings = settings is null ? [] : settings.ToArray().AsReadOnly();
        if (statements.Count == 1)
        {
            SessionRoute = statements[0].SessionRoute;
            SessionRouteValue = statements[0].SessionRouteValue;
        }
    }

    /// <summary>
    /// Where the whole text goes, the hint applied: Read only when every statement is Read (or the text is empty), or
    /// when <c>/* sluice:replica */</c> asked for it. <see cref="StatementRoute.Unknown"/> means primary.
    /// </summary>
    public StatementRoute Route { get; }

    /// <summary>True when <see cref="Route"/> is Write or Unknown: send the text to the primary.</summary>
    public bool RequiresPrimary => Route != StatementRoute.Read;

    /// <summary>The route the statements themselves ask for, before the hint (for logs and metrics).</summary>
    public StatementRoute ClassifiedRoute { get; }

    /// <summary>The leading <c>/* sluice:primary|replica */</c> hint of the text, if any.</summary>
    public RouteHint Hint { get; }

    /// <summary>Why the first statement that is not a read is not (for logs), else null.</summary>
    public string? Reason { get; }

    /// <summary>The statements of the text in order; empty for an empty text (only whitespace, comments, semicolons).</summary>
    public IReadOnlyList<StatementInfo> Statements { get; }

    /// <summary>True when the text has no statement (the proxy answers EmptyQueryResponse or forwards it; Route is Read).</summary>
    public bool IsEmpty => Statements.Count == 0;

    /// <summary>A statement of the text is BEGIN or START TRANSACTION.</summary>
    public bool IsBegin { get; }

    /// <summary>The (last) BEGIN / START TRANSACTION of the text says READ ONLY (also after ISOLATION LEVEL ...).</summary>
    public bool BeginReadOnly { get; }

    /// <summary>A statement is <c>SET TRANSACTION ... READ ONLY</c> or <c>SET SESSION CHARACTERISTICS AS TRANSACTION ... READ ONLY</c>.</summary>
    public bool IsSetTransactionReadOnly { get; }

    /// <summary>A statement is <c>SET TRANSACTION ... READ WRITE</c> or <c>SET SESSION CHARACTERISTICS AS TRANSACTION ... READ WRITE</c>.</summary>
    public bool IsSetTransactionReadWrite { get; }

    /// <summary>
    /// A statement ends the current transaction: COMMIT, END, ROLLBACK, ABORT (with or without AND CHAIN), or
    /// PREPARE TRANSACTION (which detaches the transaction from the session). Not ROLLBACK TO SAVEPOINT,
    /// COMMIT PREPARED or ROLLBACK PREPARED.
    /// </summary>
    public bool IsCommitOrRollback { get; }

    /// <summary>
    /// The text is one sluice.route statement (<c>SET sluice.route ...</c>, <c>RESET sluice.route</c>,
    /// <c>SHOW sluice.route</c>) that the proxy answers itself. <see cref="SessionRouteCommand.None"/> otherwise, also
    /// when such a statement is mixed with others in one text (see <see cref="StatementInfo.SessionRoute"/>).
    /// </summary>
    public SessionRouteCommand SessionRoute { get; }

    /// <summary>The value given to <c>SET sluice.route</c> (for the error message of an invalid one).</summary>
    public string? SessionRouteValue { get; }

    /// <summary>The text creates session state that ties the client to its server connection.</summary>
    public bool PinsSession => PinReasons != SessionPinReasons.None;

    /// <summary>Which session state the text creates (union over its statements).</summary>
    public SessionPinReasons PinReasons { get; }

    /// <summary>
    /// Session-state changes by SET / RESET / DISCARD and <c>set_config(name, value, false)</c> calls with literal
    /// arguments, in statement order (SET LOCAL and <c>set_config(..., true)</c> are not included).
    /// </summary>
    public IReadOnlyList<SessionSetting> SessionSettings { get; }

    public override string ToString() => $"{Route} ({Statements.Count} statement(s))" + (Reason is null ? "" : $": {Reason}");
}
