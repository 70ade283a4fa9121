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

    /// <summary>
    /// Every word the analyzers compare with, folded. <see cref="ParsedText"/> looks each identifier up once, so a
    /// keyword test is a reference comparison (the values are the same interned literals the analyzers use).
    /// </summary>
    public static readonly FrozenDictionary<string, string> All = BuildAll();

    /// <summary>Lookup of <see cref="All"/> by a folded span, without allocating.</summary>
    public static readonly FrozenDictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> AllBySpan =
        All.GetAlternateLookup<ReadOnlySpan<char>>();

    private static FrozenDictionary<string, string> BuildAll()
    {
        string[] words =
        [
            "abort", "all", "alter", "analyse", "analyze", "as", "authorization", "begin", "bit", "by", "call", "case",
            "chain", "char", "character", "characteristics", "checkpoint", "close", "cluster", "columns", "comment",
            "commit", "conflict", "constraints", "copy", "create", "cube", "cursor", "deallocate", "declare", "default",
            "deferrable", "delete", "discard", "distinct", "do", "drop", "end", "except", "execute", "exists",
            "explain", "false", "fetch", "filter", "for", "from", "function", "global", "grant", "group", "grouping",
            "having", "hold", "if", "import", "insert", "intersect", "into", "isolation", "join", "key", "level",
            "limit", "listen", "load", "local", "lock", "materialized", "merge", "move", "names", "no", "not", "notify",
            "null", "off", "offset", "on", "only", "operator", "option", "or", "order", "over", "partition", "plans",
            "prepare", "prepared", "procedure", "read", "reassign", "recursive", "refresh", "reindex", "release",
            "repeatable", "replace", "reset", "returning", "revoke", "role", "rollback", "rollup", "savepoint",
            "schema", "security", "select", "sequence", "sequences", "session", "set", "sets", "share", "show", "start",
            "stdout", "table", "tablesample", "temp", "temporary", "time", "to", "transaction", "true", "truncate",
            "union", "unlisten", "unlogged", "update", "using", "vacuum", "values", "varying", "verbose", "view",
            "where", "window", "with", "within", "work", "write", "xml", "zone",
        ];
        var all = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var word in words.Concat(NotFunctions).Concat(TypesWithModifiers).Concat(TypeNameWords).Concat(FromItemIntroducers))
        {
            var interned = string.Intern(word);
            all[interned] = interned;
        }

        return all.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
