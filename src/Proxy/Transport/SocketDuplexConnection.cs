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

    /// <summary>What the first receive after a wait takes, into a buffer of the thread's (<see cref="ReceiveFirst"/>).</summary>
    private const int FirstReceiveSize = 4096;

    private static readonly PipeOptions DefaultReceiveOptions = ReceiveOptions(pool: null);

    [ThreadStatic]
    private static byte[]? t_firstReceive;

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
        // Runs on the constructor's stack up to the first receive that has to wait: data already there is taken
        // and buffered in the pipe for the reader to come (a flush with no reader waiting returns at once).
        var writer = _receive.Writer;
        Exception? error = null;
        try
        {
            var streaming = false;

            // Disposed while the loop was flushing (the session closes the connection from inside the flush, which
            // runs it inline): leave instead of calling into a disposed socket, which throws — an exception per
            // closed connection.
            while (Volatile.Read(ref _disposed) == 0)
            {
                // After a receive that filled its buffer, more is likely waiting: ask the socket before going idle.
                if (streaming && Socket.Available == 0)
                {
                    streaming = false;
                }

                int received;
                SocketError socketError;
                if (streaming)
                {
                    var memory = writer.GetMemory(MinimumReceiveSize);
                    received = Socket.Receive(memory.Span, SocketFlags.None, out socketError);
                    if (socketError == SocketError.Success)
                    {
                        writer.Advance(received);
                    }

                    streaming = received == memory.Length;
                }
                else
                {
                    // Idle: wait for readability without a buffer. Completes with 0 both for "data is there" and for
                    // end of stream (and now and then for a readiness report with no data behind it).
                    await Socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None);
                    (received, socketError) = ReceiveFirst(writer);
                    streaming = received == FirstReceiveSize;
                }

                if (socketError == SocketError.WouldBlock)
                {
                    // Nothing after all: wait again, holding nothing.
                    streaming = false;
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

    /// <summary>
    /// The first receive after a wait goes to a buffer of the thread's and is copied into the pipe: a wake-up with nothing behind it
    /// (it happens: a readiness report for data an earlier receive already took) then rents no segment, which would
    /// otherwise stay rented for as long as the connection sits idle. Copying a message of a few hundred bytes costs
    /// far less than the receive itself. When the first receive fills the stack buffer, the rest goes straight into
    /// pipe segments.
    /// </summary>
    private (int Received, SocketError Error) ReceiveFirst(PipeWriter writer)
    {
        // Per thread rather than stackalloc, which would zero 4 KiB on every call; nothing runs between the receive
        // and the copy that could use it again on this thread.
        var first = t_firstReceive ??= GC.AllocateUninitializedArray<byte>(FirstReceiveSize);
        var received = Socket.Receive(first, SocketFlags.None, out var socketError);
        if (socketError == SocketError.Success && received > 0)
        {
            first.AsSpan(0, received).CopyTo(writer.GetSpan(received));
            writer.Advance(received);
        }

        return (received, socketError);
    }
}
