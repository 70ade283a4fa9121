using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;

namespace Sluice.Proxy.Transport;

/// <summary>
/// A TCP connection with its own two loops, in the style of Garnet's network layer. The receive loop waits for data
/// with a zero-byte receive, so an idle connection holds no buffer and no pipe segment, only that one pending receive;
/// when data arrives it rents a segment, takes what is there with a non-blocking receive and flushes. The send loop
/// drains the output pipe into the socket with non-blocking sends, waiting asynchronously only when the socket buffer
/// is full. Both pipes run their continuations inline: the reader of a flushed receive (the session) runs on the
/// thread that completed the receive, and a session's flush sends on its own thread, so a relayed message crosses no
/// thread on its way through.
/// </summary>
internal sealed class SocketDuplexConnection : PipedSocketConnection, IDuplexPipe
{
    /// <summary>Smallest free space a receive gets; the pipe's pool rounds segments up to its block size (4 KiB).</summary>
    private const int MinimumReceiveSize = 4096;

    /// <summary>How long a closing connection may take to hand its last bytes to a peer that does not read.</summary>
    private static readonly TimeSpan LastSendTimeout = TimeSpan.FromSeconds(1);

    private static readonly PipeOptions Options = new(
        readerScheduler: PipeScheduler.Inline,
        writerScheduler: PipeScheduler.Inline,
        pauseWriterThreshold: 64 * 1024,
        resumeWriterThreshold: 32 * 1024,
        minimumSegmentSize: MinimumReceiveSize,
        useSynchronizationContext: false);

    private readonly Pipe _receive = new(Options);
    private readonly Pipe _send = new(Options);
    private readonly Task _receiveLoop;
    private readonly Task _sendLoop;
    private int _disposed;

    public SocketDuplexConnection(Socket socket)
        : base(socket)
    {
        // Synchronous receives and sends return WouldBlock instead of waiting: the loops try them first and fall
        // back to an asynchronous operation only when the socket has nothing to give or no room to take.
        socket.Blocking = false;
        _receiveLoop = ReceiveLoopAsync();
        _sendLoop = SendLoopAsync();
    }

    PipeReader IDuplexPipe.Input => _receive.Reader;

    PipeWriter IDuplexPipe.Output => _send.Writer;

    protected override IDuplexPipe Raw => this;

    protected override bool TryStartDispose() => Interlocked.Exchange(ref _disposed, 1) == 0;

    protected override async ValueTask CloseSocketAsync()
    {
        // The send loop ends once it has sent what the writer left behind; a peer that never reads gets cut off.
        try
        {
            await _sendLoop.WaitAsync(LastSendTimeout);
        }
        catch (TimeoutException)
        {
        }

        try
        {
            Socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }

        Socket.Dispose();
        await _receiveLoop;
    }

    private async Task ReceiveLoopAsync()
    {
        // Not on the constructor's stack: the first receive may complete at once.
        await Task.Yield();
        var writer = _receive.Writer;
        Exception? error = null;
        try
        {
            var moreLikely = false;
            while (true)
            {
                if (!moreLikely)
                {
                    // Idle: wait for readability without a buffer. Completes with 0 both for "data is there" and for
                    // end of stream; the receive below tells them apart.
                    await Socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None);
                }

                var memory = writer.GetMemory(MinimumReceiveSize);
                var received = Socket.Receive(memory.Span, SocketFlags.None, out var socketError);
                if (socketError == SocketError.WouldBlock)
                {
                    // Nothing after all (the last receive filled its segment exactly): wait again. The segment stays
                    // rented until data comes, which only happens after a receive of exactly the segment's size.
                    moreLikely = false;
                    continue;
                }

                if (socketError != SocketError.Success)
                {
                    throw new SocketException((int)socketError);
                }

                if (received == 0)
                {
                    break;
                }

                // A full segment means the peer is streaming: read on without waiting (one syscall instead of two).
                moreLikely = received == memory.Length;
                writer.Advance(received);
                var flush = await writer.FlushAsync();
                if (flush.IsCompleted || flush.IsCanceled)
                {
                    break;
                }
            }
        }
        catch (SocketException ex)
        {
            error = new IOException(ex.Message, ex);
        }
        catch (ObjectDisposedException ex)
        {
            error = new IOException("connection aborted", ex);
        }

        await writer.CompleteAsync(error);
    }

    private async Task SendLoopAsync()
    {
        var reader = _send.Reader;
        Exception? error = null;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync();
                var buffer = result.Buffer;
                if (!buffer.IsEmpty)
                {
                    var pending = buffer.IsSingleSegment ? TrySend(buffer.First) : TrySend(buffer);
                    if (pending >= 0)
                    {
                        await SendRestAsync(buffer.Slice(pending));
                    }
                }

                reader.AdvanceTo(buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    break;
                }
            }
        }
        catch (SocketException ex)
        {
            error = new IOException(ex.Message, ex);
        }
        catch (ObjectDisposedException ex)
        {
            error = new IOException("connection aborted", ex);
        }

        if (error is not null)
        {
            // The peer is gone: stop the receive loop too, so the session's reader sees it.
            try
            {
                Socket.Shutdown(SocketShutdown.Both);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
            }
        }

        await reader.CompleteAsync(error);
    }

    /// <summary>
    /// Sends what the socket takes without waiting; -1 when all of it went, else the offset of what is left for
    /// <see cref="SendRestAsync"/>. The common case (a reply that fits the socket buffer) costs one syscall and no
    /// asynchronous operation, so an idle connection never needs the socket's send event args at all.
    /// </summary>
    private long TrySend(ReadOnlyMemory<byte> segment)
    {
        var sent = SendNow(segment.Span);
        return sent == segment.Length ? -1 : sent;
    }

    private long TrySend(in ReadOnlySequence<byte> buffer)
    {
        long offset = 0;
        foreach (var segment in buffer)
        {
            var sent = SendNow(segment.Span);
            offset += sent;
            if (sent < segment.Length)
            {
                return offset;
            }
        }

        return -1;
    }

    private int SendNow(ReadOnlySpan<byte> span)
    {
        var sent = Socket.Send(span, SocketFlags.None, out var socketError);
        return socketError switch
        {
            SocketError.Success => sent,
            SocketError.WouldBlock => 0,
            _ => throw new SocketException((int)socketError),
        };
    }

    /// <summary>The socket buffer is full (a slow reader, a large result): wait for room, as often as it takes.</summary>
    private async ValueTask SendRestAsync(ReadOnlySequence<byte> rest)
    {
        foreach (var segment in rest)
        {
            var remaining = segment;
            while (!remaining.IsEmpty)
            {
                var sent = await Socket.SendAsync(remaining, SocketFlags.None);
                remaining = remaining[sent..];
            }
        }
    }
}
