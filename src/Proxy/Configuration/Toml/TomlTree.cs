using System.Diagnostics.CodeAnalysis;
using Tomlyn.Parsing;
using Tomlyn.Syntax;

namespace Sluice.Proxy.Configuration.Toml;

/// <summary>A value of proxy.toml with the line (1-based) it is written on: what every message about it names.</summary>
internal abstract class TomlNode(int line)
{
    public int Line { get; } = line;

    /// <summary>"a string", "an integer", ...: for "expected X, got Y" messages.</summary>
    public abstract string KindName { get; }
}

/// <summary>A string, integer, float, boolean or date-time, as Tomlyn parsed it.</summary>
internal sealed class TomlScalar(ValueSyntax syntax, int line) : TomlNode(line)
{
    public ValueSyntax Syntax { get; } = syntax;

    public override string KindName => Syntax switch
    {
        StringValueSyntax => "a string",
        IntegerValueSyntax => "an integer",
        FloatValueSyntax => "a float",
        BooleanValueSyntax => "a boolean",
        _ => "a date-time",
    };

    /// <summary>The value as written, without trivia, for messages.</summary>
    public override string ToString() => Syntax.ToString().Trim();
}

/// <summary>An array; <see cref="IsArrayOfTables"/> for one built from <c>[[header]]</c> tables.</summary>
internal sealed class TomlArray(int line, bool isArrayOfTables) : TomlNode(line)
{
    public List<TomlNode> Items { get; } = [];

    public bool IsArrayOfTables { get; } = isArrayOfTables;

    public override string KindName => IsArrayOfTables ? "an array of tables" : "an array";
}

/// <summary>One key of a table, where it is written, and its value.</summary>
internal readonly record struct TomlEntry(string Key, int Line, TomlNode Value);

/// <summary>A table: its keys in document order.</summary>
internal sealed class TomlTable(int line, bool isInline) : TomlNode(line)
{
    private readonly List<TomlEntry> _entries = [];

    public bool IsInline { get; } = isInline;

    public IReadOnlyList<TomlEntry> Entries => _entries;

    public override string KindName => IsInline ? "an inline table" : "a table";

    public bool TryGetEntry(string key, out TomlEntry entry)
    {
        foreach (var candidate in _entries)
        {
            if (candidate.Key == key)
            {
                entry = candidate;
                return true;
            }
        }

        entry = default;
        return false;
    }

    public void Add(string key, int line, TomlNode value) => _entries.Add(new TomlEntry(key, line, value));
}

/// <summary>
/// proxy.toml through Tomlyn: its parser and validator find every syntax error and redefinition (with line), and its
/// syntax tree, which keeps every node's position, is folded here into tables whose keys and values know their lines.
/// </summary>
internal static class TomlTree
{
    /// <summary>The document's root table, or null and every syntax error as FILE:LINE: message.</summary>
    public static bool TryParse(string text, string fileName, [NotNullWhen(true)] out TomlTable? root, out IReadOnlyList<ConfigError> errors)
    {
        var document = SyntaxParser.Parse(text, fileName, validate: true);

        // One mistake often makes Tomlyn report a second one right after it ("expecting ']'", then "expecting a newline"
        // for the same token): the first error of each line is the one that tells what to fix.
        errors = [.. document.Diagnostics
            .Where(diagnostic => diagnostic.Kind == DiagnosticMessageKind.Error)
            .Select(diagnostic => new ConfigError(fileName, LineOf(diagnostic.Span), diagnostic.Message))
            .DistinctBy(error => error.Line)];
        if (errors.Count > 0)
        {
            root = null;
            return false;
        }

        root = new TomlTable(1, isInline: false);
        AddKeyValues(root, document.KeyValues);
        foreach (var header in document.Tables)
        {
            var line = LineOf(header.Span);
            var path = KeyPath(header.Name);
            var parent = Descend(root, path[..^1], line);
            TomlTable table;
            if (header is TableArraySyntax)
            {
                if (!parent.TryGetEntry(path[^1], out var entry))
                {
                    entry = new TomlEntry(path[^1], line, new TomlArray(line, isArrayOfTables: true));
                    parent.Add(entry.Key, entry.Line, entry.Value);
                }

                table = new TomlTable(line, isInline: false);
                ((TomlArray)entry.Value).Items.Add(table);
            }
            else
            {
                table = Descend(parent, path[^1..], line);
            }

            AddKeyValues(table, header.Items);
        }

        return true;
    }

    private static void AddKeyValues(TomlTable table, IEnumerable<KeyValueSyntax> keyValues)
    {
        foreach (var keyValue in keyValues)
        {
            var line = LineOf(keyValue.Span);
            var path = KeyPath(keyValue.Key);
            Descend(table, path[..^1], line).Add(path[^1], line, Convert(keyValue.Value!));
        }
    }

    private static TomlNode Convert(ValueSyntax value)
    {
        var line = LineOf(value.Span);
        switch (value)
        {
            case ArraySyntax array:
                var node = new TomlArray(line, isArrayOfTables: false);
                foreach (var item in array.Items)
                {
                    node.Items.Add(Convert(item.Value!));
                }

                return node;
            case InlineTableSyntax inline:
                var table = new TomlTable(line, isInline: true);
                AddKeyValues(table, inline.Items.Select(item => item.KeyValue!));
                return table;
            default:
                return new TomlScalar(value, line);
        }
    }

    /// <summary>
    /// The table at <paramref name="path"/> below <paramref name="table"/>, made where missing (by a dotted key or a
    /// [a.b] header); through an array of tables, its last element. Tomlyn's validation has already refused paths
    /// through values that are not tables.
    /// </summary>
    private static TomlTable Descend(TomlTable table, ReadOnlySpan<string> path, int line)
    {
        foreach (var key in path)
        {
            if (!table.TryGetEntry(key, out var entry))
            {
                var created = new TomlTable(line, isInline: false);
                table.Add(key, line, created);
                table = created;
                continue;
            }

            table = entry.Value switch
            {
                TomlTable existing => existing,
                TomlArray { Items: [.., TomlTable last] } => last,
                _ => throw new InvalidOperationException($"'{key}' is not a table (Tomlyn's validation should have said so)"),
            };
        }

        return table;
    }

    private static string[] KeyPath(KeySyntax? key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var path = new List<string> { KeyName(key.Key) };
        if (key.DotKeys is { } dotted)
        {
            foreach (var item in dotted)
            {
                path.Add(KeyName(item.Key));
            }
        }

        return [.. path];
    }

    private static string KeyName(BareKeyOrStringValueSyntax? key) => key switch
    {
        BareKeySyntax bare => bare.Key?.Text ?? "",
        StringValueSyntax quoted => quoted.Value ?? "",
        _ => "",
    };

    /// <summary>Tomlyn counts lines from 0; editors and our messages from 1.</summary>
    private static int LineOf(SourceSpan span) => span.Start.Line + 1;
}
