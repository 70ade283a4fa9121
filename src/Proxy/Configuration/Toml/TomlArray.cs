using System.Collections;

namespace Sluice.Proxy.Configuration.Toml;

/// <summary>An array: a static one written as <c>[1, 2]</c>, or an array of tables built by <c>[[name]]</c> headers.</summary>
public sealed class TomlArray : TomlValue, IReadOnlyList<TomlValue>
{
    private readonly List<TomlValue> _items = [];

    internal TomlArray(int line, bool isArrayOfTables)
        : base(line)
    {
        IsArrayOfTables = isArrayOfTables;
    }

    /// <summary>True when built by <c>[[name]]</c> headers (only those can be appended to by later headers).</summary>
    public bool IsArrayOfTables { get; }

    public override TomlValueKind Kind => TomlValueKind.Array;

    public int Count => _items.Count;

    public TomlValue this[int index] => _items[index];

    public IEnumerator<TomlValue> GetEnumerator() => _items.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    internal void Add(TomlValue value) => _items.Add(value);
}
