using System.Collections.Immutable;
using System.Globalization;
using Sluice.Proxy.Configuration.Toml;
using Tomlyn.Syntax;

namespace Sluice.Proxy.Configuration;

/// <summary>
/// Typed reads of one TOML table of proxy.toml. Every read names a key as known; what is left over at
/// <see cref="ReportUnknownKeys"/> is a typo or a key from another program, and an error. A value of the wrong
/// type or range is reported and read as absent, so binding goes on and finds the other errors too.
/// </summary>
internal sealed class ConfigTable
{
    private readonly ConfigBinder _binder;
    private readonly TomlTable _table;
    private readonly List<string> _known = [];
    private readonly HashSet<string> _invalid = new(StringComparer.Ordinal);

    /// <summary>
    /// <paramref name="path"/> prefixes key names in messages ("server" gives "server.listen"); <paramref name="where"/>
    /// names the table in "unknown key ... in [server]".
    /// </summary>
    public ConfigTable(ConfigBinder binder, TomlTable table, string path, string where)
    {
        _binder = binder;
        _table = table;
        Path = path;
        Where = where;
    }

    public string Path { get; }

    public string Where { get; }

    /// <summary>The line of the table's header (or of its opening brace).</summary>
    public int Line => _table.Line;

    /// <summary>The line of a key, or of the table when the key is absent (the place to add it).</summary>
    public int LineOf(string key) => _table.TryGetEntry(key, out var entry) ? entry.Line : _table.Line;

    public string Name(string key) => Path.Length == 0 ? key : $"{Path}.{key}";

    /// <summary>True when the key is written but its value was refused (and reported): checks that need it skip.</summary>
    public bool IsInvalid(string key) => _invalid.Contains(key);

    /// <summary>Reports a problem with a key's value; the key then counts as <see cref="IsInvalid"/>.</summary>
    public void Error(string key, int line, string message)
    {
        _invalid.Add(key);
        _binder.Error(line, message);
    }

    public void Error(int line, string message) => _binder.Error(line, message);

    /// <summary>The lines of the items of an array value (for messages about one item); empty when it is no array.</summary>
    public IReadOnlyList<int> ItemLines(string key) =>
        TryGet(key, out var entry) && entry.Value is TomlArray array ? [.. array.Items.Select(item => item.Line)] : [];

    public bool TryGet(string key, out TomlEntry entry)
    {
        if (!_known.Contains(key))
        {
            _known.Add(key);
        }

        return _table.TryGetEntry(key, out entry);
    }

    public string? String(string key, bool allowEmpty = true)
    {
        if (!TryGet(key, out var entry))
        {
            return null;
        }

        if (entry.Value is not TomlScalar { Syntax: StringValueSyntax text })
        {
            WrongType(entry, "a string");
            return null;
        }

        var value = text.Value ?? "";
        if (!allowEmpty && value.Length == 0)
        {
            Error(key, entry.Line, $"{Name(key)} must not be empty");
            return null;
        }

        return value;
    }

    public int? Int(string key, int min, int max = int.MaxValue)
    {
        if (!TryGet(key, out var entry))
        {
            return null;
        }

        if (entry.Value is not TomlScalar { Syntax: IntegerValueSyntax integer })
        {
            WrongType(entry, "an integer");
            return null;
        }

        if (integer.Value >= min && integer.Value <= max)
        {
            return (int)integer.Value;
        }

        var rule = (min, max) switch
        {
            (_, int.MaxValue) when integer.Value > max => $"is too large (got {integer.Value}; at most {max})",
            (0, int.MaxValue) => $"must not be negative (got {integer.Value})",
            (_, int.MaxValue) => $"must be at least {min} (got {integer.Value})",
            _ => $"must be between {min} and {max} (got {integer.Value})",
        };
        Error(key, entry.Line, $"{Name(key)} {rule}");
        return null;
    }

    public bool? Bool(string key)
    {
        if (!TryGet(key, out var entry))
        {
            return null;
        }

        if (entry.Value is TomlScalar { Syntax: BooleanValueSyntax boolean })
        {
            return boolean.Value;
        }

        WrongType(entry, "true or false");
        return null;
    }

    public TimeSpan? Duration(string key, bool allowZero = true)
    {
        if (!TryGet(key, out var entry))
        {
            return null;
        }

        if (entry.Value is not TomlScalar { Syntax: StringValueSyntax { Value: { } text } })
        {
            Error(key, entry.Line, $"{Name(key)}: expected a duration string such as \"30s\" (\"0\" to disable), got {Describe(entry.Value)}");
            return null;
        }

        if (!ConfigDuration.TryParse(text, out var duration))
        {
            Error(key, entry.Line, $"{Name(key)}: invalid duration \"{text}\"; use a whole number with a unit (ms, s, m, h), e.g. \"250ms\", \"30s\", \"5m\", \"1h\", \"2h30m\", up to 596h, or \"0\" to disable");
            return null;
        }

        if (!allowZero && duration == TimeSpan.Zero)
        {
            Error(key, entry.Line, $"{Name(key)} must be greater than 0");
            return null;
        }

        return duration;
    }

    public T? Enum<T>(string key, EnumNames<T> names)
        where T : struct, Enum
    {
        var text = String(key);
        if (text is null)
        {
            return null;
        }

        if (names.TryParse(text, out var value))
        {
            return value;
        }

        Error(key, LineOf(key), $"{Name(key)}: invalid value \"{text}\"; allowed: {names.Allowed}");
        return null;
    }

    /// <summary>An array of strings, each with its own line.</summary>
    public ImmutableArray<(string Value, int Line)>? StringArray(string key)
    {
        if (!TryGet(key, out var entry))
        {
            return null;
        }

        if (entry.Value is not TomlArray array)
        {
            WrongType(entry, "an array of strings");
            return null;
        }

        var builder = ImmutableArray.CreateBuilder<(string Value, int Line)>(array.Items.Count);
        var valid = true;
        foreach (var item in array.Items)
        {
            if (item is TomlScalar { Syntax: StringValueSyntax text })
            {
                builder.Add((text.Value ?? "", item.Line));
            }
            else
            {
                Error(key, item.Line, $"{Name(key)}: expected strings in the array, got {Describe(item)}");
                valid = false;
            }
        }

        return valid ? builder.MoveToImmutable() : null;
    }

    public TomlArray? Array(string key, string expected)
    {
        if (!TryGet(key, out var entry))
        {
            return null;
        }

        if (entry.Value is TomlArray array)
        {
            return array;
        }

        WrongType(entry, expected);
        return null;
    }

    /// <summary>A sub-table such as [server] of the document.</summary>
    public ConfigTable? Table(string key, string path)
    {
        if (!TryGet(key, out var entry))
        {
            return null;
        }

        if (entry.Value is TomlTable table)
        {
            return new ConfigTable(_binder, table, path, $"[{path}]");
        }

        WrongType(entry, $"a table ([{path}])");
        return null;
    }

    /// <summary>The elements of an array of tables such as [[users]] (an array of inline tables works too).</summary>
    public IReadOnlyList<ConfigTable> Tables(string key, string path)
    {
        if (!TryGet(key, out var entry))
        {
            return [];
        }

        if (entry.Value is not TomlArray array || array.Items.Any(item => item is not TomlTable))
        {
            Error(key, entry.Line, $"{Name(key)}: expected [[{path}]] tables, got {Describe(entry.Value)}");
            return [];
        }

        return [.. array.Items.Cast<TomlTable>().Select(table => new ConfigTable(_binder, table, path, $"[[{path}]]"))];
    }

    public void ReportUnknownKeys()
    {
        foreach (var entry in _table.Entries)
        {
            if (_known.Contains(entry.Key))
            {
                continue;
            }

            var what = entry.Value switch
            {
                TomlTable { IsInline: false } => $"unknown section [{Name(entry.Key)}]",
                TomlArray { IsArrayOfTables: true } => $"unknown section [[{Name(entry.Key)}]]",
                _ => Path.Length == 0 ? $"unknown key '{entry.Key}' at the top level" : $"unknown key '{entry.Key}' in {Where}",
            };
            var suggestion = _known.FirstOrDefault(known => EditDistance(known, entry.Key) <= 2);
            var hint = suggestion is not null
                ? $"; did you mean '{suggestion}'?"
                : _known.Count > 0 ? $"; known keys: {string.Join(", ", _known)}" : "";
            _binder.Error(entry.Line, what + hint);
        }
    }

    private void WrongType(TomlEntry entry, string expected) =>
        Error(entry.Key, entry.Line, $"{Name(entry.Key)}: expected {expected}, got {Describe(entry.Value)}");

    private static string Describe(TomlNode value) => value switch
    {
        TomlScalar { Syntax: StringValueSyntax text } => $"a string (\"{text.Value}\")",
        TomlScalar scalar => $"{scalar.KindName} ({scalar})",
        _ => value.KindName,
    };

    private static int EditDistance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var substitution = previous[j - 1] + (char.ToLower(a[i - 1], CultureInfo.InvariantCulture) == char.ToLower(b[j - 1], CultureInfo.InvariantCulture) ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j], current[j - 1]) + 1);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}
