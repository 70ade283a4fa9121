using System.Collections.Concurrent;
using System.Diagnostics;

namespace Sluice.Proxy.Runtime;

/// <summary>
/// PgBouncer-style cumulative counters per database (SHOW STATS): transactions, queries, bytes and time spent.
/// Recorded on the data path with Interlocked adds; read by the admin console, which derives the averages.
/// Times are in microseconds, as PgBouncer reports them.
/// </summary>
internal sealed class DatabaseStats
{
    private long _transactions;
    private long _queries;
    private long _received;
    private long _sent;
    private long _transactionMicros;
    private long _queryMicros;
    private long _waitMicros;
    private long _serverAssignments;

    public DatabaseStats(string database)
    {
        Database = database;
    }

    public string Database { get; }

    public long Transactions => Interlocked.Read(ref _transactions);

    public long Queries => Interlocked.Read(ref _queries);

    /// <summary>Bytes received from clients.</summary>
    public long Received => Interlocked.Read(ref _received);

    /// <summary>Bytes sent to clients.</summary>
    public long Sent => Interlocked.Read(ref _sent);

    public long TransactionMicros => Interlocked.Read(ref _transactionMicros);

    public long QueryMicros => Interlocked.Read(ref _queryMicros);

    /// <summary>Time clients spent waiting for a server.</summary>
    public long WaitMicros => Interlocked.Read(ref _waitMicros);

    public long ServerAssignments => Interlocked.Read(ref _serverAssignments);

    public void AddTransaction(long startTimestamp)
    {
        Interlocked.Increment(ref _transactions);
        Interlocked.Add(ref _transactionMicros, ElapsedMicros(startTimestamp));
    }

    public void AddQuery(long startTimestamp)
    {
        Interlocked.Increment(ref _queries);
        Interlocked.Add(ref _queryMicros, ElapsedMicros(startTimestamp));
    }

    public void AddReceived(long bytes) => Interlocked.Add(ref _received, bytes);

    public void AddSent(long bytes) => Interlocked.Add(ref _sent, bytes);

    public void AddWait(long startTimestamp)
    {
        Interlocked.Increment(ref _serverAssignments);
        Interlocked.Add(ref _waitMicros, ElapsedMicros(startTimestamp));
    }

    private static long ElapsedMicros(long startTimestamp) => (long)Stopwatch.GetElapsedTime(startTimestamp).TotalMicroseconds;
}

/// <summary>The <see cref="DatabaseStats"/> of every database seen, made on first use.</summary>
internal sealed class StatsRegistry
{
    private readonly ConcurrentDictionary<string, DatabaseStats> _databases = new(StringComparer.Ordinal);

    public DatabaseStats For(string database) => _databases.GetOrAdd(database, static name => new DatabaseStats(name));

    public IEnumerable<DatabaseStats> All => _databases.Values;
}
