using System.Collections.Concurrent;

namespace Sluice.Proxy.Observability;

internal enum PrometheusMetricType
{
    Counter,
    Gauge,
    Histogram,
}

/// <summary>
/// The series of one instrument keyed by label set, at most <c>maxSeries</c> of them: measurements for a new label
/// set beyond the cap are dropped and counted, so a label bug cannot exhaust memory.
/// </summary>
internal sealed class SeriesMap<TSeries>
    where TSeries : class
{
    private readonly ConcurrentDictionary<TagSet, TSeries> _series = new(TagSetComparer.Instance);
    private readonly ConcurrentDictionary<TagSet, TSeries>.AlternateLookup<ReadOnlySpan<KeyValuePair<string, object?>>> _bySpan;
    private readonly Func<TagSet, TSeries> _create;
    private readonly int _maxSeries;
    private int _count;
    private long _dropped;

    public SeriesMap(Func<TagSet, TSeries> create, int maxSeries)
    {
        _bySpan = _series.GetAlternateLookup<ReadOnlySpan<KeyValuePair<string, object?>>>();
        _create = create;
        _maxSeries = maxSeries;
    }

    public long Dropped => Interlocked.Read(ref _dropped);

    public bool IsEmpty => _series.IsEmpty;

    /// <summary>The series of these tags, created on first use; null when the cap is reached (the measurement is dropped).</summary>
    public TSeries? Get(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (_bySpan.TryGetValue(tags, out var series))
        {
            return series;
        }

        // Full: drop before building a TagSet, so that a label explosion costs no allocation per measurement.
        if (Volatile.Read(ref _count) >= _maxSeries)
        {
            Interlocked.Increment(ref _dropped);
            return null;
        }

        return GetOrAddSlow(TagSet.Create(tags));
    }

    /// <summary>Forgets every series; only for observable instruments, before they are observed again.</summary>
    public void Clear()
    {
        _series.Clear();
        Volatile.Write(ref _count, 0);
    }

    public KeyValuePair<TagSet, TSeries>[] Snapshot()
    {
        var series = _series.ToArray();
        Array.Sort(series, static (a, b) => string.CompareOrdinal(a.Key.Labels, b.Key.Labels));
        return series;
    }

    private TSeries? GetOrAddSlow(TagSet tags)
    {
        if (_series.TryGetValue(tags, out var existing))
        {
            return existing;
        }

        if (Interlocked.Increment(ref _count) > _maxSeries)
        {
            Interlocked.Decrement(ref _count);
            Interlocked.Increment(ref _dropped);
            return null;
        }

        var created = _create(tags);
        if (_series.TryAdd(tags, created))
        {
            return created;
        }

        Interlocked.Decrement(ref _count);
        return _series[tags];
    }
}

/// <summary>Aggregates one instrument's measurements and writes them as one metric family.</summary>
internal abstract class InstrumentAggregator(string name, string help, PrometheusMetricType type, bool isObservable)
{
    public string Name { get; } = name;

    public string Help { get; } = help;

    public PrometheusMetricType Type { get; } = type;

    public bool IsObservable { get; } = isObservable;

    public abstract long Dropped { get; }

    public abstract void Record(long value, ReadOnlySpan<KeyValuePair<string, object?>> tags);

    public abstract void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags);

    public abstract void Clear();

    public abstract bool HasSeries { get; }

    /// <summary>Writes the sample lines (not HELP/TYPE), series sorted by labels.</summary>
    public abstract void WriteSamples(Utf8TextWriter writer);

    protected static void AddDouble(ref double location, double value)
    {
        var current = Volatile.Read(ref location);
        while (true)
        {
            var seen = Interlocked.CompareExchange(ref location, current + value, current);
            if (seen.Equals(current))
            {
                return;
            }

            current = seen;
        }
    }

    protected static void WriteSeriesName(Utf8TextWriter writer, string name, TagSet tags)
    {
        writer.Write(name);
        if (tags.Count > 0)
        {
            writer.Write('{');
            writer.Write(tags.Labels);
            writer.Write('}');
        }
    }
}

/// <summary>A counter, up-down counter or gauge: one number per series, summed or last-value.</summary>
internal sealed class ValueAggregator : InstrumentAggregator
{
    private readonly SeriesMap<ValueSeries> _series;
    private readonly bool _sum;
    private readonly bool _integer;

    public ValueAggregator(string name, string help, PrometheusMetricType type, bool isObservable, bool sum, bool integer, int maxSeries)
        : base(name, help, type, isObservable)
    {
        _series = new SeriesMap<ValueSeries>(static _ => new ValueSeries(), maxSeries);
        _sum = sum;
        _integer = integer;
    }

    public override long Dropped => _series.Dropped;

    public override bool HasSeries => !_series.IsEmpty;

    public override void Record(long value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (_series.Get(tags) is not { } series)
        {
            return;
        }

        if (_sum)
        {
            Interlocked.Add(ref series.Long, value);
        }
        else
        {
            Volatile.Write(ref series.Long, value);
        }
    }

    public override void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (_series.Get(tags) is not { } series)
        {
            return;
        }

        if (_sum)
        {
            AddDouble(ref series.Double, value);
        }
        else
        {
            Volatile.Write(ref series.Double, value);
        }
    }

    public override void Clear() => _series.Clear();

    public override void WriteSamples(Utf8TextWriter writer)
    {
        foreach (var (tags, series) in _series.Snapshot())
        {
            WriteSeriesName(writer, Name, tags);
            writer.Write(' ');
            if (_integer)
            {
                writer.Write(Interlocked.Read(ref series.Long));
            }
            else
            {
                writer.Write(Volatile.Read(ref series.Double));
            }

            writer.Write('\n');
        }
    }

    internal sealed class ValueSeries
    {
        public long Long;
        public double Double;
    }
}

/// <summary>A histogram: per series, a count per bucket (not cumulative; made cumulative when written) and a sum.</summary>
internal sealed class HistogramAggregator : InstrumentAggregator
{
    private readonly SeriesMap<HistogramSeries> _series;
    private readonly double[] _bounds;
    private readonly string[] _boundLabels;

    public HistogramAggregator(string name, string help, double[] bounds, int maxSeries)
        : base(name, help, PrometheusMetricType.Histogram, isObservable: false)
    {
        _bounds = bounds;
        _boundLabels = [.. bounds.Select(PrometheusText.FormatDouble), "+Inf"];
        _series = new SeriesMap<HistogramSeries>(_ => new HistogramSeries(bounds.Length + 1), maxSeries);
    }

    public override long Dropped => _series.Dropped;

    public override bool HasSeries => !_series.IsEmpty;

    public override void Record(long value, ReadOnlySpan<KeyValuePair<string, object?>> tags) => Record((double)value, tags);

    public override void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (double.IsNaN(value) || _series.Get(tags) is not { } series)
        {
            return;
        }

        // Upper bounds are inclusive (le); a linear scan beats a binary search over a dozen bounds.
        var bucket = 0;
        while (bucket < _bounds.Length && value > _bounds[bucket])
        {
            bucket++;
        }

        Interlocked.Increment(ref series.Buckets[bucket]);
        AddDouble(ref series.Sum, value);
    }

    public override void Clear() => _series.Clear();

    public override void WriteSamples(Utf8TextWriter writer)
    {
        var bucketName = Name + "_bucket";
        foreach (var (tags, series) in _series.Snapshot())
        {
            // _count is the +Inf bucket by definition, so both come from the same bucket reads and always agree.
            long cumulative = 0;
            for (var i = 0; i < series.Buckets.Length; i++)
            {
                cumulative += Interlocked.Read(ref series.Buckets[i]);
                writer.Write(bucketName);
                writer.Write('{');
                if (tags.Count > 0)
                {
                    writer.Write(tags.Labels);
                    writer.Write(',');
                }

                writer.Write("le=\"");
                writer.Write(_boundLabels[i]);
                writer.Write("\"} ");
                writer.Write(cumulative);
                writer.Write('\n');
            }

            WriteSeriesName(writer, Name + "_sum", tags);
            writer.Write(' ');
            writer.Write(Volatile.Read(ref series.Sum));
            writer.Write('\n');
            WriteSeriesName(writer, Name + "_count", tags);
            writer.Write(' ');
            writer.Write(cumulative);
            writer.Write('\n');
        }
    }

    internal sealed class HistogramSeries(int buckets)
    {
        public readonly long[] Buckets = new long[buckets];
        public double Sum;
    }
}
