using System.Collections.Concurrent;

namespace Sluice.Proxy.Observability;

/// <summary>
/// The children of one labelled metric that the data path records into, keyed by their label values and made on
/// first use, at most <c>maxSeries</c> of them: a label bug then costs dropped measurements (counted), not memory.
/// Looking up an existing series is one dictionary read: no allocation, no lock.
/// </summary>
internal sealed class BoundedSeries<TKey, TSeries>
    where TKey : notnull
    where TSeries : class
{
    private readonly ConcurrentDictionary<TKey, TSeries> _series = new();
    private readonly Func<TKey, TSeries> _create;
    private readonly int _maxSeries;
    private int _count;

    public BoundedSeries(Func<TKey, TSeries> create, int maxSeries)
    {
        _create = create;
        _maxSeries = maxSeries;
    }

    /// <summary>The series of <paramref name="key"/>; null when the cap is reached and the measurement must be dropped.</summary>
    public TSeries? Get(TKey key) => _series.TryGetValue(key, out var series) ? series : GetOrAddSlow(key);

    private TSeries? GetOrAddSlow(TKey key)
    {
        if (Interlocked.Increment(ref _count) > _maxSeries)
        {
            Interlocked.Decrement(ref _count);
            return _series.GetValueOrDefault(key); // a racing thread may have just added it
        }

        TSeries? created = null;
        var series = _series.GetOrAdd(key, k => created = _create(k));
        if (!ReferenceEquals(series, created))
        {
            // Another thread added this key first and counted it.
            Interlocked.Decrement(ref _count);
        }

        return series;
    }
}
