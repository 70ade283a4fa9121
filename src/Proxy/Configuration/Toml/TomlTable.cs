using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace Sluice.Proxy.Configuration.Toml;

/// <summary>A key of a table with the line it was written on, and its value.</summary>
public readonly record struct TomlKeyValue(string Key, int Line, TomlValue Value);

/// <summary>How a table came to exist; TOML's redefinition rules depend on it.</summary>
internal enum TomlTableOrigin
{
    Root,

    /// <summary>Created as a parent by a header such as <c>[a.b]</c> (for <c>a</c>); a later <c>[a]</c> may still define it once.</summary>
    HeaderImplicit,

    /// <summary>Defined by its own <c>[header]</c> or as an element of <c>[[header]]</c>.</summary>
    HeaderExplicit,

    /// <summary>Created by a dotted key such as <c>a.b = 1</c>; only dotted keys of the same body may add to it.</summary>
    Dotted,

    /// <summary>Written as <c>{ ... }</c>, complete as written.</summary>
    Inline,
}

/// <summary>A table: keys in document order, each with its line.</summary>
public sealed class TomlTable : TomlValue, IReadOnlyCollection<TomlKeyValue>
{
    private readonly Dictionary<string, int> _index = new(StringComparer.Ordinal);
    private readonly List<TomlKeyValue> _entries = [];

    internal TomlTable(int line, TomlTableOrigin origin)
        : base(line)
    {
        Origin = origin;
    }

    public override TomlValueKind Kind => TomlValueKind.Table;

    public int Count => _entries.Count;

    /// <summary>True for a table written as <c>{ ... }</c>.</summary>
    public bool IsInline => Origin == TomlTableOrigin.Inline;

    public IEnumerable<string> Keys => _entries.Select(entry => entry.Key);

    public TomlValue this[string key] => TryGetValue(key, out var value) ? value : throw new KeyNotFoundException($"no key '{key}'");

    internal TomlTableOrigin Origin { get; set; }

    public bool ContainsKey(string key) => _index.ContainsKey(key);

    public bool TryGetValue(string key, [NotNullWhen(true)] out TomlValue? value)
    {
        if (_index.TryGetValue(key, out var position))
        {
            value = _entries[position].Value;
            return true;
        }

        value = null;
        return false;
    }

    public bool TryGetEntry(string key, out TomlKeyValue entry)
    {
        if (_index.TryGetValue(key, out var position))
        {
            entry = _entries[position];
            return true;
        }

        entry = default;
        return false;
    }

    public IEnumerator<TomlKeyValue> GetEnumerator() => _entries.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    internal void Add(string key, int line, TomlValue value)
    {
        _index.Add(key, _entries.Count);
        _entries.Add(new TomlKeyValue(key, line, value));
    }

    /// <summary>An implicitly created table gets its own header: it now "starts" at that header.</summary>
    internal void Define(int line)
    {
        Origin = TomlTableOrigin.HeaderExplicit;
        Line = line;
    }
}
