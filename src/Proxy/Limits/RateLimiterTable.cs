namespace Sluice.Proxy.Limits;

/// <summary>
/// One token bucket per key (client address, user name), made on first use. A bucket that has filled up again is
/// the same as a new one, so full buckets are dropped whenever the table has doubled since the last sweep: memory
/// stays bounded by the keys seen within about one burst's time, however many addresses come and go.
/// </summary>
internal sealed class RateLimiterTable<TKey>
    where TKey : notnull
{
    private const int MinSweepSize = 1024;

    private readonly Lock _lock = new();
    private readonly Dictionary<TKey, TokenBucket> _buckets = [];
    private readonly TimeProvider _clock;
    private int _sweepAt = MinSweepSize;

    public RateLimiterTable(TimeProvider clock)
    {
        _clock = clock;
    }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _buckets.Count;
            }
        }
    }

    /// <summary>
    /// Takes a token of <paramref name="key"/>'s bucket at <paramref name="rate"/> a second (burst of the same size);
    /// see <see cref="TokenBucket.TryReserve"/>. A changed rate (reload) starts the key's bucket afresh.
    /// </summary>
    public TimeSpan? TryReserve(TKey key, int rate, TimeSpan maxWait) => Bucket(key, rate).TryReserve(maxWait);

    /// <summary>Gives back a token reserved by <see cref="TryReserve"/> whose caller left before using it.</summary>
    public void Return(TKey key)
    {
        lock (_lock)
        {
            if (_buckets.TryGetValue(key, out var bucket))
            {
                bucket.Return();
            }
        }
    }

    private TokenBucket Bucket(TKey key, int rate)
    {
        lock (_lock)
        {
            if (_buckets.TryGetValue(key, out var bucket) && bucket.Rate == rate)
            {
                return bucket;
            }

            if (bucket is null && _buckets.Count >= _sweepAt)
            {
                Sweep();
            }

            bucket = new TokenBucket(rate, rate, _clock);
            _buckets[key] = bucket;
            return bucket;
        }
    }

    private void Sweep()
    {
        foreach (var (key, bucket) in _buckets)
        {
            if (bucket.IsFull)
            {
                _buckets.Remove(key);
            }
        }

        _sweepAt = Math.Max(MinSweepSize, _buckets.Count * 2);
    }
}
