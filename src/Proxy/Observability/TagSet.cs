using System.Text;

namespace Sluice.Proxy.Observability;

/// <summary>
/// The label set of one series: names sorted, values as strings, rendered once as the text between the braces.
/// Equal label sets given in a different order are the same series.
/// </summary>
internal sealed class TagSet
{
    public static readonly TagSet Empty = new([], [], 0);

    private readonly string[] _names;
    private readonly string[] _values;

    private TagSet(string[] names, string[] values, int hashCode)
    {
        _names = names;
        _values = values;
        HashCode = hashCode;
        Labels = Render(names, values);
    }

    public int Count => _names.Length;

    public int HashCode { get; }

    /// <summary><c>a="x",b="y"</c>: sanitized names, escaped values, no braces; empty without labels.</summary>
    public string Labels { get; }

    public static TagSet Create(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (tags.IsEmpty)
        {
            return Empty;
        }

        // A repeated name keeps its last value; such a set then never equals its span and takes the slow path.
        var byName = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var tag in tags)
        {
            byName[tag.Key] = PrometheusText.FormatValue(tag.Value);
        }

        var names = byName.Keys.ToArray();
        var values = byName.Values.ToArray();
        var hash = 0;
        for (var i = 0; i < names.Length; i++)
        {
            hash = unchecked(hash + TagHash(names[i], values[i]));
        }

        return new TagSet(names, values, hash);
    }

    /// <summary>Order-independent, so that the hash of a span does not depend on the order of its tags.</summary>
    public static int HashOf(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var hash = 0;
        foreach (var tag in tags)
        {
            hash = unchecked(hash + TagHash(tag.Key, tag.Value as string ?? PrometheusText.FormatValue(tag.Value)));
        }

        return hash;
    }

    public bool Matches(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (tags.Length != _names.Length)
        {
            return false;
        }

        foreach (var tag in tags)
        {
            var index = Array.IndexOf(_names, tag.Key);
            if (index < 0)
            {
                return false;
            }

            var value = tag.Value as string ?? PrometheusText.FormatValue(tag.Value);
            if (!string.Equals(_values[index], value, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    public bool Equals(TagSet other) =>
        ReferenceEquals(this, other)
        || (HashCode == other.HashCode && _names.AsSpan().SequenceEqual(other._names) && _values.AsSpan().SequenceEqual(other._values));

    private static int TagHash(string name, string value) =>
        System.HashCode.Combine(StringComparer.Ordinal.GetHashCode(name), StringComparer.Ordinal.GetHashCode(value));

    private static string Render(string[] names, string[] values)
    {
        if (names.Length == 0)
        {
            return string.Empty;
        }

        var builder = new StringBuilder();
        for (var i = 0; i < names.Length; i++)
        {
            if (i > 0)
            {
                builder.Append(',');
            }

            builder.Append(PrometheusText.LabelName(names[i])).Append("=\"");
            PrometheusText.AppendEscapedLabelValue(builder, values[i]);
            builder.Append('"');
        }

        return builder.ToString();
    }
}

/// <summary>Lets a dictionary keyed by <see cref="TagSet"/> be searched with the measurement's tag span, allocation-free.</summary>
internal sealed class TagSetComparer : IEqualityComparer<TagSet>, IAlternateEqualityComparer<ReadOnlySpan<KeyValuePair<string, object?>>, TagSet>
{
    public static readonly TagSetComparer Instance = new();

    public bool Equals(TagSet? x, TagSet? y) => x is null ? y is null : y is not null && x.Equals(y);

    public int GetHashCode(TagSet obj) => obj.HashCode;

    public bool Equals(ReadOnlySpan<KeyValuePair<string, object?>> alternate, TagSet other) => other.Matches(alternate);

    public int GetHashCode(ReadOnlySpan<KeyValuePair<string, object?>> alternate) => TagSet.HashOf(alternate);

    public TagSet Create(ReadOnlySpan<KeyValuePair<string, object?>> alternate) => TagSet.Create(alternate);
}
