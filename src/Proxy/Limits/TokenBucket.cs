namespace Sluice.Proxy.Limits;

/// <summary>
/// A token bucket: <see cref="Rate"/> tokens a second, up to <see cref="Burst"/> saved up. A caller that finds the
/// bucket empty reserves the next token ahead of time (the count goes below zero), so callers are served in the order
/// they asked and each learns at once how long it has to wait.
/// </summary>
internal sealed class TokenBucket
{
    private readonly Lock _lock = new();
    private readonly TimeProvider _clock;
    private double _tokens;
    private long _updatedAt;

    public TokenBucket(int rate, int burst, TimeProvider clock)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rate);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(burst);
        Rate = rate;
        Burst = burst;
        _clock = clock;
        _tokens = burst;
        _updatedAt = clock.GetTimestamp();
    }

    public int Rate { get; }

    public int Burst { get; }

    /// <summary>
    /// Takes one token: <see cref="TimeSpan.Zero"/> when one was there, else how long until the reserved one arrives;
    /// null, taking nothing, when that would be longer than <paramref name="maxWait"/>.
    /// </summary>
    public TimeSpan? TryReserve(TimeSpan maxWait)
    {
        lock (_lock)
        {
            Refill();
            if (_tokens >= 1)
            {
                _tokens -= 1;
                return TimeSpan.Zero;
            }

            var wait = TimeSpan.FromSeconds((1 - _tokens) / Rate);
            if (wait > maxWait)
            {
                return null;
            }

            _tokens -= 1;
            return wait;
        }
    }

    /// <summary>Gives back a reserved token whose caller left before using it.</summary>
    public void Return()
    {
        lock (_lock)
        {
            Refill();
            _tokens = Math.Min(Burst, _tokens + 1);
        }
    }

    /// <summary>Full and so the same as a new bucket: a table of buckets may forget it.</summary>
    public bool IsFull
    {
        get
        {
            lock (_lock)
            {
                Refill();
                return _tokens >= Burst;
            }
        }
    }

    private void Refill()
    {
        var now = _clock.GetTimestamp();
        var elapsed = _clock.GetElapsedTime(_updatedAt, now);
        _updatedAt = now;
        _tokens = Math.Min(Burst, _tokens + (elapsed.TotalSeconds * Rate));
    }
}
