using System.Net;

namespace Sluice.Proxy.Security;

/// <summary>
/// Slows down password guessing: after <see cref="FreeFailures"/> failed logins from one address (IPv6: one /64), each
/// further failure is answered only after a delay that doubles per failure up to <see cref="MaxDelay"/>. An address is
/// forgotten once it has not failed for <see cref="Window"/>. Successful logins are never delayed.
/// </summary>
/// <remarks>
/// Memory is bounded: at most <see cref="MaxAddresses"/> addresses are tracked. When the table is full and nothing in
/// it has expired, further addresses share one entry, so a guesser spreading over many addresses is slowed as one.
/// </remarks>
internal sealed class AuthFailureThrottle
{
    public const int DefaultFreeFailures = 5;
    public const int DefaultMaxAddresses = 10_000;

    private static readonly IPAddress s_overflowKey = IPAddress.IPv6None;

    private readonly Lock _lock = new();
    private readonly Dictionary<IPAddress, Entry> _entries = [];
    private readonly TimeProvider _time;

    public AuthFailureThrottle(TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
    }

    public int FreeFailures { get; init; } = DefaultFreeFailures;

    public TimeSpan Window { get; init; } = TimeSpan.FromMinutes(1);

    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromMilliseconds(500);

    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(5);

    public int MaxAddresses { get; init; } = DefaultMaxAddresses;

    /// <summary>Addresses tracked now (at most <see cref="MaxAddresses"/> + the shared overflow entry).</summary>
    public int TrackedAddresses
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>Counts a failed login from <paramref name="address"/> and returns how long to wait before answering it.</summary>
    public TimeSpan RecordFailure(IPAddress? address)
    {
        var now = _time.GetTimestamp();
        var key = address is null ? s_overflowKey : AddressAllowlist.GroupKey(address);
        int failures;
        lock (_lock)
        {
            var known = _entries.TryGetValue(key, out var entry);
            if (!known && _entries.Count >= MaxAddresses)
            {
                RemoveExpired(now);
                if (_entries.Count >= MaxAddresses)
                {
                    key = s_overflowKey;
                    known = _entries.TryGetValue(key, out entry);
                }
            }

            failures = known && _time.GetElapsedTime(entry.LastFailure, now) <= Window ? entry.Failures + 1 : 1;
            _entries[key] = new Entry(failures, now);
        }

        return DelayFor(failures);
    }

    /// <summary>The delay for the n-th failure in a row: none up to <see cref="FreeFailures"/>, then doubling from <see cref="BaseDelay"/>.</summary>
    public TimeSpan DelayFor(int failures)
    {
        var excess = failures - FreeFailures;
        if (excess <= 0)
        {
            return TimeSpan.Zero;
        }

        var ticks = BaseDelay.Ticks << Math.Min(excess - 1, 20);
        return ticks >= MaxDelay.Ticks ? MaxDelay : TimeSpan.FromTicks(ticks);
    }

    private void RemoveExpired(long now)
    {
        foreach (var (key, entry) in _entries)
        {
            if (_time.GetElapsedTime(entry.LastFailure, now) > Window)
            {
                _entries.Remove(key);
            }
        }
    }

    private readonly record struct Entry(int Failures, long LastFailure);
}
