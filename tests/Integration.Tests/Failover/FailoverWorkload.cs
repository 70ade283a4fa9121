using System.Collections.Concurrent;
using System.Diagnostics;
using Npgsql;
using Xunit.Abstractions;

namespace Sluice.Integration.Tests.Failover;

/// <summary>
/// An application through a failover: workers that each write and read every 20 ms over connections from one
/// Npgsql pool (as many connections as workers), counting what failed and how many connections Npgsql had to open.
/// A connection the proxy closed shows up as a new one: Npgsql replaces it with a new physical connection, which
/// gets a new backend pid from the proxy.
/// </summary>
internal sealed class FailoverWorkload : IAsyncDisposable
{
    private static readonly TimeSpan Pace = TimeSpan.FromMilliseconds(20);

    private readonly NpgsqlDataSource _dataSource;
    private readonly ITestOutputHelper _output;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<int, byte> _connections = new();
    private readonly ConcurrentQueue<string> _errors = new();
    private readonly List<Task> _workers = [];
    private long _writes;
    private long _failedWrites;
    private long _reads;
    private long _failedReads;
    private long _markedAt;
    private long _firstWriteAfterMark;

    public FailoverWorkload(string connectionString, int workers, string table, ITestOutputHelper output)
    {
        _output = output;
        var builder = new NpgsqlConnectionStringBuilder(connectionString) { Pooling = true, MaxPoolSize = workers, MinPoolSize = 0 };
        _dataSource = NpgsqlDataSource.Create(builder.ConnectionString);
        for (var i = 0; i < workers; i++)
        {
            var worker = i;
            _workers.Add(Task.Run(() => RunAsync(worker, table)));
        }
    }

    public long Writes => Interlocked.Read(ref _writes);

    public long FailedWrites => Interlocked.Read(ref _failedWrites);

    public long Reads => Interlocked.Read(ref _reads);

    public long FailedReads => Interlocked.Read(ref _failedReads);

    /// <summary>Physical connections Npgsql opened to the proxy.</summary>
    public int ConnectionsOpened => _connections.Count;

    /// <summary>From the mark (<see cref="Mark"/>) to the end of the first write that succeeded after it; null before one did.</summary>
    public TimeSpan? FirstWriteAfterMark => Interlocked.Read(ref _firstWriteAfterMark) is var ticks and not 0 ? TimeSpan.FromTicks(ticks) : null;

    /// <summary>Starts timing the first write that succeeds from now on.</summary>
    public void Mark() => Interlocked.Exchange(ref _markedAt, Stopwatch.GetTimestamp());

    /// <summary>Waits (bounded) until the workers have written <paramref name="count"/> more rows.</summary>
    public async Task WaitForWritesAsync(long count, TimeSpan limit)
    {
        var target = Writes + count;
        var stopwatch = Stopwatch.StartNew();
        while (Writes < target)
        {
            Assert.True(stopwatch.Elapsed < limit, $"the workload wrote {Writes} of {target} rows within {limit.TotalSeconds} s; errors: {string.Join(" | ", _errors.Take(10))}");
            await Task.Delay(20);
        }
    }

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_workers);
        _output.WriteLine($"workload: {Writes} writes ({FailedWrites} failed), {Reads} reads ({FailedReads} failed), {ConnectionsOpened} connections opened");
        foreach (var error in _errors.Take(20))
        {
            _output.WriteLine($"  {error}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await StopAsync();
        }

        await _dataSource.DisposeAsync();
        _stop.Dispose();
    }

    private async Task RunAsync(int worker, string table)
    {
        var token = _stop.Token;
        for (var n = 0; !token.IsCancellationRequested; n++)
        {
            await using (var connection = await OpenAsync(token))
            {
                if (connection is null)
                {
                    continue;
                }

                _connections.TryAdd(connection.ProcessID, 0);
                if (await TryAsync(connection, $"INSERT INTO {table} VALUES ({worker}, {n})", "write"))
                {
                    Interlocked.Increment(ref _writes);
                    NoteWrite();
                }
                else
                {
                    Interlocked.Increment(ref _failedWrites);
                }

                if (await TryAsync(connection, $"SELECT count(*) FROM {table} WHERE worker = {worker}", "read"))
                {
                    Interlocked.Increment(ref _reads);
                }
                else
                {
                    Interlocked.Increment(ref _failedReads);
                }
            }

            try
            {
                await Task.Delay(Pace, token);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    private async Task<NpgsqlConnection?> OpenAsync(CancellationToken token)
    {
        try
        {
            return await _dataSource.OpenConnectionAsync(CancellationToken.None);
        }
        catch (NpgsqlException error)
        {
            // Opening a connection to the proxy does not involve a server: it must not fail. Counted as a failed write.
            Interlocked.Increment(ref _failedWrites);
            _errors.Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} open: {error.Message}");
            await Task.Delay(Pace, token).ContinueWith(_ => { }, TaskScheduler.Default);
            return null;
        }
    }

    private async Task<bool> TryAsync(NpgsqlConnection connection, string sql, string what)
    {
        try
        {
            await using var command = new NpgsqlCommand(sql, connection);
            await command.ExecuteNonQueryAsync(CancellationToken.None);
            return true;
        }
        catch (Exception error) when (error is NpgsqlException or InvalidOperationException)
        {
            // InvalidOperationException: the proxy closed the connection (it shows as a connection opened anew).
            var state = error is PostgresException postgres ? $"{postgres.InvariantSeverity} {postgres.SqlState}" : "client";
            _errors.Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} {what}: {state} {error.Message} (connection {connection.State})");
            return false;
        }
    }

    private void NoteWrite()
    {
        var marked = Interlocked.Read(ref _markedAt);
        if (marked != 0 && Interlocked.Read(ref _firstWriteAfterMark) == 0)
        {
            Interlocked.CompareExchange(ref _firstWriteAfterMark, Math.Max(1, Stopwatch.GetElapsedTime(marked).Ticks), 0);
        }
    }
}
