using System.Buffers;
using System.Text;

namespace Sluice.Proxy.Logging;

/// <summary>
/// Collects log lines from any thread and writes them to a stream in batches from one thread of its own. A logging
/// thread is unavoidable (stderr may be a pipe whose reader stalls, and a socket thread must never wait for it); what
/// this saves over .NET's console logger is the wake-up per line: a line only wakes the writer when the batch is empty,
/// and the writer then gathers for <see cref="BatchWindow"/> before one write. Under a connection storm that is a
/// handful of writes a second instead of two thread switches per connection.
/// </summary>
internal sealed class LogLineWriter : IDisposable
{
    /// <summary>How long the writer gathers lines after the first of a batch; what a line may be late by.</summary>
    public static readonly TimeSpan BatchWindow = TimeSpan.FromMilliseconds(20);

    /// <summary>Characters held while the stream does not take them; past this, lines are dropped and counted.</summary>
    private const int MaxPendingChars = 4 * 1024 * 1024;

    private readonly Stream _output;
    private readonly Thread _thread;
    private readonly Encoder _encoder = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false).GetEncoder();
    private readonly object _lock = new();

    // Under _lock: lines not yet taken by the writer thread, the spare buffer it hands back, and the drop count.
    private StringBuilder _pending = new();
    private StringBuilder _spare = new();
    private long _dropped;
    private bool _stopping;

    public LogLineWriter(Stream output)
    {
        _output = output;
        _thread = new Thread(WriteLoop) { IsBackground = true, Name = "Sluice log writer" };
        _thread.Start();
    }

    /// <summary>Appends one line (the builder's callback writes it, without the newline) and wakes the writer if needed.</summary>
    public void Append<TState>(TState state, Action<StringBuilder, TState> writeLine)
    {
        lock (_lock)
        {
            if (_stopping)
            {
                return;
            }

            if (_pending.Length > MaxPendingChars)
            {
                _dropped++;
                return;
            }

            var wasEmpty = _pending.Length == 0;
            writeLine(_pending, state);
            _pending.Append('\n');
            if (wasEmpty)
            {
                Monitor.Pulse(_lock);
            }
        }
    }

    /// <summary>Writes what is pending and stops the writer thread.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_stopping)
            {
                return;
            }

            _stopping = true;
            Monitor.Pulse(_lock);
        }

        _thread.Join();
    }

    private void WriteLoop()
    {
        // A dedicated thread: waiting here holds up nobody (never a socket or thread-pool thread).
        var bytes = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            while (true)
            {
                StringBuilder batch;
                long dropped;
                bool stopping;
                lock (_lock)
                {
                    while (_pending.Length == 0 && !_stopping)
                    {
                        Monitor.Wait(_lock);
                    }

                    if (!_stopping)
                    {
                        // Let the lines of this burst gather (a pulse from Dispose ends the wait early).
                        Monitor.Wait(_lock, BatchWindow);
                    }

                    batch = _pending;
                    _pending = _spare;
                    dropped = _dropped;
                    _dropped = 0;
                    stopping = _stopping;
                }

                if (dropped > 0)
                {
                    batch.Append(System.Globalization.CultureInfo.InvariantCulture, $"{DateTime.UtcNow:yyyy-MM-ddTHH:mm:ss.fff}Z warn: Sluice[0] {dropped} log line(s) dropped: the log output did not keep up\n");
                }

                bytes = Write(batch, bytes);
                batch.Clear();
                lock (_lock)
                {
                    _spare = batch;
                }

                if (stopping)
                {
                    lock (_lock)
                    {
                        if (_pending.Length == 0)
                        {
                            return;
                        }
                    }
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
        }
    }

    /// <summary>Encodes the whole batch and hands it to the stream in one write.</summary>
    private byte[] Write(StringBuilder batch, byte[] bytes)
    {
        var needed = Encoding.UTF8.GetMaxByteCount(batch.Length);
        if (needed > bytes.Length)
        {
            ArrayPool<byte>.Shared.Return(bytes);
            bytes = ArrayPool<byte>.Shared.Rent(needed);
        }

        // The builder's chunks may split a surrogate pair: one encoder carries it across.
        var encoder = _encoder;
        var count = 0;
        foreach (var chunk in batch.GetChunks())
        {
            count += encoder.GetBytes(chunk.Span, bytes.AsSpan(count), flush: false);
        }

        count += encoder.GetBytes(ReadOnlySpan<char>.Empty, bytes.AsSpan(count), flush: true);
        try
        {
            _output.Write(bytes, 0, count);
            _output.Flush();
        }
        catch (IOException)
        {
            // stderr closed (the parent went away): nothing else to tell it with.
        }

        return bytes;
    }
}
