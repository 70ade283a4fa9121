using System.IO.Pipelines;
using System.Net.Sockets;
using Pipelines.Sockets.Unofficial;

namespace Sluice.Proxy.Transport;

/// <summary>
/// Pipelines.Sockets.Unofficial's <c>SocketConnection</c> (the socket layer of StackExchange.Redis) under the
/// connection: its own receive and send loops over SocketAsyncEventArgs, zero-length reads while idle, continuations
/// inline on the I/O thread as in <see cref="SocketDuplexConnection"/>. Kept selectable
/// (<c>SLUICE_TRANSPORT=sockets-unofficial</c>) so the comparison in bench/RESULTS.md can be re-run.
/// </summary>
internal sealed class UnofficialSocketConnection : PipedSocketConnection
{
    private static readonly PipeOptions Options = new(
        readerScheduler: PipeScheduler.Inline,
        writerScheduler: PipeScheduler.Inline,
        pauseWriterThreshold: 64 * 1024,
        resumeWriterThreshold: 32 * 1024,
        minimumSegmentSize: 4096,
        useSynchronizationContext: false);

    private readonly SocketConnection _connection;
    private int _disposed;

    public UnofficialSocketConnection(Socket socket)
        : base(socket)
    {
        _connection = SocketConnection.Create(
            socket,
            Options,
            Options,
            SocketConnectionOptions.ZeroLengthReads | SocketConnectionOptions.InlineReads | SocketConnectionOptions.InlineWrites);
    }

    protected override IDuplexPipe Raw => _connection;

    protected override bool TryStartDispose() => Interlocked.Exchange(ref _disposed, 1) == 0;

    protected override async ValueTask CloseAsync()
    {
        // Completing the output pipe lets the send loop drain and shut the socket down for sending; Dispose then
        // closes it.
        await _connection.Output.CompleteAsync();
        _connection.Dispose();
    }
}
