using System.Diagnostics;
using Sluice.Proxy.Runtime;

namespace Sluice.Proxy.Admin;

/// <summary>The cumulative counters of one database at one moment.</summary>
internal readonly record struct StatsTotals(
    long ServerAssignments, long Transactions, long Queries, long Received, long Sent, long TransactionMicros, long QueryMicros, long WaitMicros)
{
    public static StatsTotals Of(DatabaseStats stats) => new(
        stats.ServerAssignments, stats.Transactions, stats.Queries, stats.Received, stats.Sent, stats.TransactionMicros, stats.QueryMicros, stats.WaitMicros);

    public static StatsTotals operator -(StatsTotals a, StatsTotals b) => new(
        a.ServerAssignments - b.ServerAssignments, a.Transactions - b.Transactions, a.Queries - b.Queries, a.Received - b.Received,
        a.Sent - b.Sent, a.TransactionMicros - b.TransactionMicros, a.QueryMicros - b.QueryMicros, a.WaitMicros - b.WaitMicros);
}

/// <summary>SHOW STATS' avg_* columns, PgBouncer's way: counts and bytes per second, times per transaction/query/wait in µs.</summary>
internal readonly record struct StatsAverages(
    long ServerAssignments, long Transactions, long Queries, long Received, long Sent, long TransactionMicros, long QueryMicros, long WaitMicros);

/// <summary>
/// Keeps the counters as they were at the last two ticks of a fixed period (15 s, PgBouncer's stats_period), so the
/// averages describe the last whole period: before the first period has passed they are zero.
/// </summary>
internal sealed class StatsPeriod : IDisposable
{
    public static readonly TimeSpan DefaultPeriod = TimeSpan.FromSeconds(15);

    private readonly StatsRegistry _stats;
    private readonly Timer _timer;
    private readonly Lock _lock = new();
    private (long At, Dictionary<string, StatsTotals> Totals) _previous;
    private (long At, Dictionary<string, StatsTotals> Totals) _current;

    public StatsPeriod(StatsRegistry stats, TimeSpan period)
    {
        _stats = stats;
        _current = _previous = Take();
        _timer = new Timer(static state => ((StatsPeriod)state!).Tick(), this, period, period);
    }

    public StatsAverages Averages(string database)
    {
        (long At, Dictionary<string, StatsTotals> Totals) previous, current;
        lock (_lock)
        {
            (previous, current) = (_previous, _current);
        }

        var seconds = Stopwatch.GetElapsedTime(previous.At, current.At).TotalSeconds;
        if (seconds <= 0 || !current.Totals.TryGetValue(database, out var now))
        {
            return default;
        }

        var delta = now - previous.Totals.GetValueOrDefault(database);
        return new StatsAverages(
            PerSecond(delta.ServerAssignments, seconds),
            PerSecond(delta.Transactions, seconds),
            PerSecond(delta.Queries, seconds),
            PerSecond(delta.Received, seconds),
            PerSecond(delta.Sent, seconds),
            Per(delta.TransactionMicros, delta.Transactions),
            Per(delta.QueryMicros, delta.Queries),
            Per(delta.WaitMicros, delta.ServerAssignments));
    }

    public void Dispose() => _timer.Dispose();

    private static long PerSecond(long count, double seconds) => (long)Math.Round(count / seconds);

    private static long Per(long micros, long count) => count > 0 ? micros / count : 0;

    private void Tick()
    {
        var next = Take();
        lock (_lock)
        {
            _previous = _current;
            _current = next;
        }
    }

    private (long, Dictionary<string, StatsTotals>) Take() =>
        (Stopwatch.GetTimestamp(), _stats.All.ToDictionary(s => s.Database, StatsTotals.Of, StringComparer.Ordinal));
}
