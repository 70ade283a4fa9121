namespace Sluice.Proxy.Limits;

/// <summary>
/// When a pool may open a server beyond its size, as PgBouncer's reserve pool: up to <c>reserve_pool_size</c> more,
/// and only once its longest-waiting client has waited <c>reserve_pool_timeout</c>.
/// </summary>
internal static class ReservePolicy
{
    /// <summary>How many servers the pool may have now: its size, or its size plus the reserve.</summary>
    public static int Limit(int size, int reserveSize, TimeSpan reserveTimeout, TimeSpan oldestWait) =>
        reserveSize > 0 && oldestWait > TimeSpan.Zero && oldestWait >= reserveTimeout ? size + reserveSize : size;

    /// <summary>A server coming back to a pool above its size is closed unless a client waits for it within the reserve.</summary>
    public static bool IsSurplus(int total, int size, int reserveSize, bool clientsWaiting) =>
        total > size && (!clientsWaiting || total > size + reserveSize);
}
