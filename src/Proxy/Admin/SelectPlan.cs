using System.Globalization;
using Sluice.Protocol.Messages;
using Sluice.Routing.Classification;

namespace Sluice.Proxy.Admin;

/// <summary>Who runs a console statement, for the values SELECT and SHOW of settings answer.</summary>
internal sealed record AdminContext(string User, string Database, IReadOnlyDictionary<string, string> Settings);

/// <summary>
/// The SELECTs a console can answer without tables, so drivers and tools that probe a connection keep working: constant
/// lists (<c>SELECT 1</c>, <c>SELECT version()</c>, <c>current_user</c>, <c>current_setting('x')</c>) and queries of the
/// system catalogs (pg_*, information_schema), which return their columns and no rows — except the pg_type query
/// Npgsql loads its types with (its exact select list), which gets the built-in types the console uses, so Npgsql works
/// with type loading on. Anything else is refused with 0A000.
/// </summary>
internal sealed class SelectPlan
{
    private static readonly HashSet<string> s_clauses = new(StringComparer.OrdinalIgnoreCase)
    {
        "from", "where", "group", "having", "window", "order", "limit", "offset", "fetch", "for", "union", "intersect", "except", "into",
    };

    private static readonly string[] s_typeColumns = ["nspname", "oid", "typname", "typtype", "typnotnull", "elemtypoid"];

    // (name, oid, typtype, element oid): what Npgsql needs to read the console's columns and common literals.
    private static readonly (string Name, int Oid, char Type, int? Element)[] s_builtinTypes =
    [
        ("bool", 16, 'b', null), ("bytea", 17, 'b', null), ("char", 18, 'b', null), ("name", 19, 'b', null),
        ("int8", 20, 'b', null), ("int2", 21, 'b', null), ("int4", 23, 'b', null), ("text", 25, 'b', null),
        ("oid", 26, 'b', null), ("json", 114, 'b', null), ("float4", 700, 'b', null), ("float8", 701, 'b', null),
        ("unknown", 705, 'b', null), ("bpchar", 1042, 'b', null), ("varchar", 1043, 'b', null), ("date", 1082, 'b', null),
        ("time", 1083, 'b', null), ("timestamp", 1114, 'b', null), ("timestamptz", 1184, 'b', null), ("interval", 1186, 'b', null),
        ("numeric", 1700, 'b', null), ("uuid", 2950, 'b', null), ("jsonb", 3802, 'b', null),
        ("record", 2249, 'p', null), ("void", 2278, 'p', null),
        ("_bool", 1000, 'a', 16), ("_int2", 1005, 'a', 21), ("_int4", 1007, 'a', 23), ("_text", 1009, 'a', 25),
        ("_varchar", 1015, 'a', 1043), ("_int8", 1016, 'a', 20), ("_float8", 1022, 'a', 701), ("_oid", 1028, 'a', 26),
    ];

    private readonly Func<AdminContext, IReadOnlyList<object?[]>> _rows;

    private SelectPlan(IReadOnlyList<ColumnDescription> columns, Func<AdminContext, IReadOnlyList<object?[]>> rows)
    {
        Columns = columns;
        _rows = rows;
    }

    public IReadOnlyList<ColumnDescription> Columns { get; }

    public IReadOnlyList<object?[]> Rows(AdminContext context) => _rows(context);

    public static (SelectPlan? Plan, AdminError? Error) Create(List<ConsoleToken> tokens)
    {
        var (items, hasFrom) = SelectList(tokens);
        if (hasFrom)
        {
            if (!tokens.Any(IsCatalogName))
            {
                return (null, NotSupported());
            }

            var names = items.Select(ItemName).ToList();
            if (names.Contains("*"))
            {
                return (new SelectPlan([], static _ => []), null);
            }

            var columns = names.Select(AdminColumns.Text).ToList();
            if (names.SequenceEqual(s_typeColumns) && tokens.Any(t => t.IsWord("pg_type")))
            {
                var rows = BuiltinTypeRows(names);
                return (new SelectPlan(columns, _ => rows), null);
            }

            return (new SelectPlan(columns, static _ => []), null);
        }

        if (items.Count == 0)
        {
            return (new SelectPlan([], static _ => [Array.Empty<object?>()]), null);
        }

        var evaluators = new List<Func<AdminContext, object?>>(items.Count);
        var resultColumns = new List<ColumnDescription>(items.Count);
        foreach (var item in items)
        {
            var (expression, alias) = SplitAlias(item);
            if (Constant(expression) is not { } constant)
            {
                return (null, NotSupported());
            }

            resultColumns.Add(constant.Column with { Name = alias ?? constant.Column.Name });
            evaluators.Add(constant.Value);
        }

        return (new SelectPlan(resultColumns, context => [evaluators.Select(e => e(context)).ToArray()]), null);
    }

    private static AdminError NotSupported() =>
        new(SqlState.FeatureNotSupported, "SELECT is not supported on the admin console (only constants and catalog probes of drivers are answered)", AdminParser.NotSupportedHint);

    private static bool IsCatalogName(ConsoleToken token) =>
        token.Kind == SqlTokenKind.Identifier
        && (token.Value.StartsWith("pg_", StringComparison.Ordinal) || token.Value == "information_schema");

    /// <summary>The select list's items (split at top-level commas) and whether a FROM follows.</summary>
    private static (List<List<ConsoleToken>> Items, bool HasFrom) SelectList(List<ConsoleToken> tokens)
    {
        var items = new List<List<ConsoleToken>>();
        var current = new List<ConsoleToken>();
        var depth = 0;
        var start = tokens.Count > 1 && (tokens[1].IsWord("distinct") || tokens[1].IsWord("all")) ? 2 : 1;
        var hasFrom = false;
        for (var i = start; i < tokens.Count; i++)
        {
            var token = tokens[i];
            if (token.Kind is SqlTokenKind.LeftParen or SqlTokenKind.LeftBracket)
            {
                depth++;
            }
            else if (token.Kind is SqlTokenKind.RightParen or SqlTokenKind.RightBracket)
            {
                depth--;
            }
            else if (depth == 0 && token.Kind == SqlTokenKind.Identifier && s_clauses.Contains(token.Value))
            {
                hasFrom = token.IsWord("from") || tokens.Skip(i).Any(t => t.IsWord("from"));
                break;
            }
            else if (depth == 0 && token.Kind == SqlTokenKind.Comma)
            {
                items.Add(current);
                current = [];
                continue;
            }

            current.Add(token);
        }

        if (current.Count > 0)
        {
            items.Add(current);
        }

        return (items, hasFrom);
    }

    /// <summary>The expression and its alias (AS name, or a bare name after it).</summary>
    private static (List<ConsoleToken> Expression, string? Alias) SplitAlias(List<ConsoleToken> item)
    {
        var n = item.Count;
        if (n >= 3 && item[n - 2].IsWord("as") && item[n - 1].Identifier is { } alias)
        {
            return (item[..(n - 2)], alias);
        }

        if (n >= 2 && item[n - 1].Identifier is { } bare && !item[n - 1].IsWord("end")
            && (item[n - 2].Kind is SqlTokenKind.Number || item[n - 2].IsText || item[n - 2].Kind == SqlTokenKind.RightParen
                || (item[n - 2].Identifier is not null && !IsCast(item, n - 1))))
        {
            return (item[..(n - 1)], bare);
        }

        return (item, null);
    }

    private static bool IsCast(List<ConsoleToken> item, int typeIndex) => typeIndex >= 1 && item[typeIndex - 1].Kind == SqlTokenKind.Typecast;

    /// <summary>The output name PostgreSQL would give the item.</summary>
    private static string ItemName(List<ConsoleToken> item)
    {
        var (expression, alias) = SplitAlias(item);
        if (alias is not null)
        {
            return alias;
        }

        // Drop a trailing cast: x::text is named after x.
        var end = expression.Count;
        for (var i = expression.Count - 1; i >= 1; i--)
        {
            if (IsCast(expression, i))
            {
                end = i - 1;
                break;
            }
        }

        var core = expression[..Math.Max(end, 0)];
        if (core.Count >= 1 && core[^1].IsOperator("*"))
        {
            return "*";
        }

        if (core.Count >= 1 && core[^1].Identifier is { } last && (core.Count == 1 || core[^2].Kind == SqlTokenKind.Dot))
        {
            return last;
        }

        if (core.Count >= 2 && core[0].Identifier is { } function && core[1].Kind == SqlTokenKind.LeftParen)
        {
            return function;
        }

        return "?column?";
    }

    private static List<object?[]> BuiltinTypeRows(List<string> names)
    {
        var rows = new List<object?[]>(s_builtinTypes.Length);
        foreach (var (name, oid, type, element) in s_builtinTypes)
        {
            rows.Add(names.Select(column => column switch
            {
                "nspname" => "pg_catalog",
                "oid" => oid.ToString(CultureInfo.InvariantCulture),
                "typname" => name,
                "typtype" => type.ToString(),
                "typnotnull" => "f",
                "elemtypoid" => element?.ToString(CultureInfo.InvariantCulture),
                _ => (object?)null,
            }).ToArray());
        }

        return rows;
    }

    /// <summary>A constant the console can evaluate, with its column, or null.</summary>
    private static (ColumnDescription Column, Func<AdminContext, object?> Value)? Constant(List<ConsoleToken> expression)
    {
        if (expression.Count == 1)
        {
            var token = expression[0];
            switch (token.Kind)
            {
                case SqlTokenKind.Number:
                    return Number(token.Value);
                case SqlTokenKind.Identifier:
                    switch (token.Value)
                    {
                        case "null":
                            return (AdminColumns.Text("?column?"), static _ => null);
                        case "true":
                            return (AdminColumns.Bool("bool"), static _ => true);
                        case "false":
                            return (AdminColumns.Bool("bool"), static _ => false);
                        case "current_user":
                        case "session_user":
                        case "user":
                            return (AdminColumns.Text(token.Value), static context => context.User);
                        case "current_catalog":
                            return (AdminColumns.Text("current_catalog"), static context => context.Database);
                    }

                    break;
                case SqlTokenKind when token.IsText:
                    var text = token.Value;
                    return (AdminColumns.Text("?column?"), _ => text);
            }

            return null;
        }

        if (expression.Count == 2 && expression[0].IsOperator("-") && expression[1].Kind == SqlTokenKind.Number)
        {
            return Number("-" + expression[1].Value);
        }

        if (expression.Count >= 3 && expression[0].Kind == SqlTokenKind.Identifier && expression[1].Kind == SqlTokenKind.LeftParen && expression[^1].Kind == SqlTokenKind.RightParen)
        {
            var function = expression[0].Value;
            var arguments = expression[2..^1];
            switch (function)
            {
                case "version" when arguments.Count == 0:
                    return (AdminColumns.Text("version"), static _ => AdminConsole.LongVersion);
                case "current_database" when arguments.Count == 0:
                    return (AdminColumns.Text("current_database"), static context => context.Database);
                case "current_schema" when arguments.Count == 0:
                    return (AdminColumns.Text("current_schema"), static _ => null);
                case "current_setting" when arguments.Count == 1 && arguments[0].IsText:
                    var setting = arguments[0].Value;
                    return (AdminColumns.Text("current_setting"), context => AdminConsole.Setting(context, setting));
            }
        }

        return null;
    }

    private static (ColumnDescription, Func<AdminContext, object?>) Number(string literal)
    {
        if (int.TryParse(literal, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var small))
        {
            return (AdminColumns.Int4("?column?"), _ => small);
        }

        if (long.TryParse(literal, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var large))
        {
            return (AdminColumns.Int8("?column?"), _ => large);
        }

        return (AdminColumns.Text("?column?"), _ => literal);
    }
}
