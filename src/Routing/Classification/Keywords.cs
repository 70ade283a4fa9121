using System.Collections.Frozen;

namespace Sluice.Routing.Classification;

/// <summary>Word lists the query scanner needs to tell function calls from keywords, aliases and types.</summary>
/// <remarks>
/// Only words PostgreSQL never accepts as a function name may be listed in <see cref="NotFunctions"/> (reserved and
/// column-name keywords): an unreserved keyword can name a user function, so those are decided by their context in
/// <see cref="QueryScanner"/>. A wrong guess must only ever err towards "function call" (primary).
/// </remarks>
internal static class Keywords
{
    /// <summary>
    /// Keywords that may be followed by <c>(</c> without being a function call: <c>IN (</c>, <c>EXISTS (</c>,
    /// <c>AS (</c>, <c>ARRAY(</c>, <c>ROW(</c>, <c>JOIN (</c>, ...
    /// </summary>
    public static readonly FrozenSet<string> NotFunctions = FrozenSet.Create(StringComparer.Ordinal,
        "select", "from", "where", "and", "or", "not", "in", "exists", "any", "all", "some", "array", "row", "values",
        "as", "on", "using", "group", "order", "having", "window", "lateral", "join", "union", "intersect", "except",
        "case", "when", "then", "else", "end", "returning", "into", "with", "distinct", "limit", "offset", "fetch",
        "between", "to", "symmetric", "asymmetric", "only", "table", "default", "for", "do", "insert", "update",
        "delete", "merge");

    /// <summary>
    /// Type names (column-name keywords, never function names) that take a modifier in parentheses:
    /// <c>varchar(10)</c>, <c>numeric(10,2)</c>, <c>timestamp(3)</c>.
    /// </summary>
    public static readonly FrozenSet<string> TypesWithModifiers = FrozenSet.Create(StringComparer.Ordinal,
        "varchar", "char", "character", "nchar", "numeric", "decimal", "dec", "bit", "timestamp", "time", "interval",
        "float");

    /// <summary>Words that continue a type name after its first word: <c>::double precision</c>, <c>::timestamp(3) with time zone</c>.</summary>
    public static readonly FrozenSet<string> TypeNameWords = FrozenSet.Create(StringComparer.Ordinal,
        "double", "precision", "character", "varying", "national", "char", "varchar", "time", "timestamp", "with",
        "without", "zone", "interval", "bit", "year", "month", "day", "hour", "minute", "second", "to");

    /// <summary>Words after which, inside a FROM clause, a name followed by <c>(</c> is a function, not an alias column list.</summary>
    public static readonly FrozenSet<string> FromItemIntroducers = FrozenSet.Create(StringComparer.Ordinal,
        "from", "join", "lateral", "only");
}
