using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;

namespace Sluice.Proxy.Transport;

/// <summary>
/// A TCP connection with its own receive loop, in the style of Garnet's network layer. The receive loop waits for data
/// with a zero-byte receive, so an idle connection holds no buffer and no pipe segment, only that one pending receive;
/// when data arrives it rents a segment, takes what is there with a non-blocking receive and flushes. The receive pipe
/// runs its continuations inline, so the reader (the session) runs on the thread that completed the receive. Sending
/// has no loop: the output's flush sends straight into the socket (<see cref="SocketPipeWriter"/>) on the session's
/// own thread. A relayed message crosses no thread on its way through.
/// </summary>
internal sealed class SocketDuplexConnection : PipedSocketConnection, IDuplexPipe, ISocketSender
{
    /// <summary>Smallest free space a receive gets; the pipe's pool rounds segments up to its block size (4 KiB).</summary>
    private const int MinimumReceiveSize = 4096;

    private static readonly PipeOptions DefaultReceiveOptions = ReceiveOptions(pool: null);

    private readonly Pipe _receive;
    private readonly PipeWriter _send;
    private readonly Task _receiveLoop;
    private int _disposed;

    /// <param name="socket">A connected socket; the connection owns it from now on.</param>
    /// <param name="pool">Where segments are rented (tests count them); the shared pool when null.</param>
    public SocketDuplexConnection(Socket socket, MemoryPool<byte>? pool = null)
        : base(socket)
    {
        _receive = new Pipe(pool is null ? DefaultReceiveOptions : ReceiveOptions(pool));

        // Synchronous receives and sends return WouldBlock instead of waiting: the receive loop and the writer try
        // them first and wait asynchronously only when the socket has nothing to give or no room to take.
        socket.Blocking = false;
        _send = new SocketPipeWriter(this, pool ?? MemoryPool<byte>.Shared);
        _receiveLoop = ReceiveLoopAsync();
    }

    PipeReader IDuplexPipe.Input => _receive.Reader;

    PipeWriter IDuplexPipe.Output => _send;

    protected override IDuplexPipe Raw => this;

    int ISocketSender.SendNow(ReadOnlySpan<byte> bytes)
    {
        var sent = Socket.Send(bytes, SocketFlags.None, out var socketError);
        return socketError switch
        {
            SocketError.Success => sent,
            SocketError.WouldBlock => 0,
            _ => throw new SocketException((int)socketError),
        };
    }

    ValueTask<int> ISocketSender.SendWhenWritableAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken) =>
        Socket.SendAsync(bytes, SocketFlags.None, cancellationToken);

    protected override bool TryStartDispose() => Interlocked.Exchange(ref _disposed, 1) == 0;

    protected override async ValueTask CloseAsync()
    {
        await CompleteSendingAsync(_send);
        ShutdownAndClose();
        await _receiveLoop;
    }

    private static PipeOptions ReceiveOptions(MemoryPool<byte>? pool) => new(
        pool,
        readerScheduler: PipeScheduler.Inline,
        writerScheduler: PipeScheduler.Inline,
        pauseWriterThreshold: 64 * 1024,
        resumeWriterThreshold: 32 * 1024,
        minimumSegmentSize: MinimumReceiveSize,
        useSynchronizationContext: false);

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
                // After a receive that filled its segment, more is likely waiting; but renting a segment to find out
                // would keep it rented while the connection sits idle, so ask the socket first.
                if (!moreLikely || Socket.Available == 0)
                {
                    // Idle: wait for readability without a buffer. Completes with 0 both for "data is there" and for
                    // end of stream; the receive below tells them apart.
                    await Socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None);
                }

                var memory = writer.GetMemory(MinimumReceiveSize);
                var received = Socket.Receive(memory.Span, SocketFlags.None, out var socketError);
                if (socketError == SocketError.WouldBlock)
                {
                    // Nothing after all (a readiness report with no data behind it): wait again. The segment stays
                    // rented until data comes.
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
}
