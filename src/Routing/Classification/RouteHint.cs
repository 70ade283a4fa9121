namespace Sluice.Routing.Classification;

/// <summary>A routing hint written by the user as a leading <c>/* sluice:primary */</c> or <c>/* sluice:replica */</c> comment.</summary>
public enum RouteHint
{
    None,

    /// <summary><c>/* sluice:primary */</c>: the text goes to the primary whatever it is.</summary>
    Primary,

    /// <summary>
    /// <c>/* sluice:replica */</c>: the text goes to a replica even when it writes; a write then fails there with
    /// SQLSTATE 25006 (read_only_sql_transaction). The user asked for it.
    /// </summary>
    Replica,
}
