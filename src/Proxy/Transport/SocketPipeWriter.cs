using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;

namespace Sluice.Proxy.Transport;

/// <summary>
/// The sending half of a non-blocking socket as a <see cref="PipeWriter"/>: messages are written into blocks rented
/// from the pool, and a flush sends them straight into the socket on the flushing thread — no send pipe, no send loop,
/// no stream in between. Once flushed, every block goes back to the pool, so an idle connection holds nothing for
/// sending; the writer itself is a few fields (a <c>PipeWriter.Create</c> over a stream kept a segment stack, a token
/// source and a token registration per flush). A send that the socket buffer takes whole — the common case — is one
/// syscall and no asynchronous operation; only a full socket buffer (a slow reader, a large result) waits.
/// <para>
/// One writer at a time, as for any PipeWriter. The one exception is closing: <see cref="CompleteAsync"/> during a
/// flush that waits for a reader leaves the blocks to that flush, which the socket's close then ends.
/// </para>
/// </summary>
internal sealed class SocketPipeWriter : PipeWriter
{
    /// <summary>Smallest block rented; the shared pool rounds up to its own sizes.</summary>
    private const int MinimumBlockSize = 4096;

    private readonly ISocketSender _sender;
    private readonly MemoryPool<byte> _pool;

    // Blocks filled before the one being written, oldest first: only for writes larger than a block between flushes.
    private List<(IMemoryOwner<byte> Block, int Length)>? _filled;
    private IMemoryOwner<byte>? _current;
    private int _currentLength;
    private long _unflushed;
    private bool _completed;
    private volatile bool _flushing;
    private volatile bool _flushCanceled;

    /// <param name="sender">The non-blocking socket's sends; owned by the caller.</param>
    /// <param name="pool">Where blocks are rented.</param>
    public SocketPipeWriter(ISocketSender sender, MemoryPool<byte> pool)
    {
        _sender = sender;
        _pool = pool;
    }

    public override bool CanGetUnflushedBytes => true;

    public override long UnflushedBytes => _unflushed;

    public override Memory<byte> GetMemory(int sizeHint = 0)
    {
        if (_completed)
        {
            throw new InvalidOperationException("writing is not allowed after the writer was completed");
        }

        sizeHint = Math.Max(sizeHint, 1);
        if (_current is { } current)
        {
            if (current.Memory.Length - _currentLength >= sizeHint)
            {
                return current.Memory[_currentLength..];
            }

            if (_currentLength == 0)
            {
                current.Dispose();
            }
            else
            {
                (_filled ??= []).Add((current, _currentLength));
            }
        }

        _current = _pool.Rent(Math.Max(sizeHint, MinimumBlockSize));
        _currentLength = 0;
        return _current.Memory;
    }

    public override Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

    public override void Advance(int bytes)
    {
        if (bytes < 0 || _current is null || bytes > _current.Memory.Length - _currentLength)
        {
            throw new ArgumentOutOfRangeException(nameof(bytes), "advanced past the memory the writer gave");
        }

        _currentLength += bytes;
        _unflushed += bytes;
    }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        if (_flushCanceled)
        {
            _flushCanceled = false;
            return new(new FlushResult(isCanceled: true, isCompleted: false));
        }

        if (_unflushed == 0)
        {
            ReleaseBlocks();
            return default;
        }

        _flushing = true;
        var synchronous = false;
        try
        {
            var filled = _filled?.Count ?? 0;
            for (var index = 0; index <= filled; index++)
            {
                var (block, length) = index < filled ? _filled![index] : (_current!, _currentLength);
                var memory = block.Memory[..length];
                var sent = _sender.SendNow(memory.Span);
                if (sent < memory.Length)
                {
                    return SendRestAsync(index, memory[sent..], cancellationToken);
                }
            }

            synchronous = true;
            return default;
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            synchronous = true;
            return ValueTask.FromException<FlushResult>(AsIOException(ex));
        }
        finally
        {
            if (synchronous)
            {
                EndFlush();
            }
        }
    }

    public override void CancelPendingFlush() => _flushCanceled = true;

    public override void Complete(Exception? exception = null)
    {
        if (_completed)
        {
            return;
        }

        _completed = true;
        if (_flushing)
        {
            return;
        }

        // Best effort without waiting: whatever the socket buffer takes now. A send that has to wait keeps its blocks
        // and gives them back when it ends (the socket's close ends it); its failure is nobody's to hear.
        if (exception is null && _unflushed > 0)
        {
            var flush = FlushAsync();
            if (!flush.IsCompleted)
            {
                _ = flush.AsTask().ContinueWith(static failed => _ = failed.Exception, CancellationToken.None,
                    TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                return;
            }
        }

        ReleaseBlocks();
    }

    public override async ValueTask CompleteAsync(Exception? exception = null)
    {
        if (_completed)
        {
            return;
        }

        if (exception is null && !_flushing && _unflushed > 0)
        {
            try
            {
                await FlushAsync();
            }
            finally
            {
                _completed = true;
                ReleaseBlocks();
            }

            return;
        }

        Complete(exception);
    }

    private static IOException AsIOException(Exception ex) =>
        ex is ObjectDisposedException ? new IOException("connection aborted", ex) : new IOException(ex.Message, ex);

    /// <summary>The socket buffer is full: wait for room for the rest of block <paramref name="index"/>, then the blocks after it.</summary>
    private async ValueTask<FlushResult> SendRestAsync(int index, ReadOnlyMemory<byte> rest, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                while (!rest.IsEmpty)
                {
                    var sent = await _sender.SendWhenWritableAsync(rest, cancellationToken);
                    rest = rest[sent..];
                }

                var filled = _filled?.Count ?? 0;
                if (++index > filled)
                {
                    return default;
                }

                var (block, length) = index < filled ? _filled![index] : (_current!, _currentLength);
                rest = block.Memory[..length];
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            throw AsIOException(ex);
        }
        finally
        {
            EndFlush();
        }
    }

    private void EndFlush()
    {
        _flushing = false;
        ReleaseBlocks();
    }

    /// <summary>Every block back to the pool: sent, or never to be sent (then nothing is left to flush either).</summary>
    private void ReleaseBlocks()
    {
        if (_filled is { Count: > 0 } filled)
        {
            foreach (var (block, _) in filled)
            {
                block.Dispose();
            }

            filled.Clear();
        }

        _current?.Dispose();
        _current = null;
        _currentLength = 0;
        _unflushed = 0;
    }
}
