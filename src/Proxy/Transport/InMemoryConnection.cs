using System.IO.Pipelines;
using System.Net;

namespace Sluice.Proxy.Transport;

/// <summary>
/// One end of a connected pair of in-memory pipes: what one end writes, the other reads. For tests that need an exact
/// interleaving a real socket cannot force (a server answering before the client's flush returns, a server handed to
/// the next client while the previous reader is still inside its read). Continuations run inline, as on the socket
/// transport, so a test sees the same ordering the proxy does in production.
/// </summary>
internal sealed class InMemoryConnection : DuplexConnection
{
    private static readonly PipeOptions Options = new(
        readerScheduler: PipeScheduler.Inline,
        writerScheduler: PipeScheduler.Inline,
        useSynchronizationContext: false);

    private readonly Pipe _incoming;
    private readonly Pipe _outgoing;
    private int _disposed;

    private InMemoryConnection(Pipe incoming, Pipe outgoing, IPEndPoint remote, IPEndPoint local)
    {
        _incoming = incoming;
        _outgoing = outgoing;
        RemoteEndPoint = remote;
        LocalEndPoint = local;
    }

    public override PipeReader Input => _incoming.Reader;

    public override PipeWriter Output => _outgoing.Writer;

    public override IPEndPoint? RemoteEndPoint { get; }

    public override EndPoint? LocalEndPoint { get; }

    /// <summary>TLS needs a byte stream; in-memory pairs are for plaintext relay tests.</summary>
    public override Stream Stream => throw new NotSupportedException("an in-memory connection has no byte stream for TLS");

    /// <summary>Two connected ends, for example the proxy's side and the test's "client" or "server" side.</summary>
    public static (InMemoryConnection Proxy, InMemoryConnection Peer) CreatePair()
    {
        var toProxy = new Pipe(Options);
        var toPeer = new Pipe(Options);
        var proxyAddress = new IPEndPoint(IPAddress.Loopback, 6432);
        var peerAddress = new IPEndPoint(IPAddress.Loopback, 50000);
        return (new InMemoryConnection(toProxy, toPeer, peerAddress, proxyAddress),
                new InMemoryConnection(toPeer, toProxy, proxyAddress, peerAddress));
    }

    public override void ReplaceStream(Stream stream) =>
        throw new NotSupportedException("an in-memory connection has no byte stream for TLS");

    /// <summary>Looks without consuming: data waiting, or the peer has completed its side.</summary>
    public override bool HasPendingInputOrClosed() =>
        Volatile.Read(ref _disposed) != 0 || PipePeek.HasPendingInputOrClosed(_incoming.Reader);

    public override void Abort()
    {
        // Both directions end with an error, as on a reset socket: a pending read on either end throws.
        var reset = new IOException("connection reset");
        _outgoing.Writer.Complete(reset);
        _incoming.Writer.Complete(reset);
    }

    public override ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _outgoing.Writer.Complete();
            _incoming.Reader.Complete();
        }

        return ValueTask.CompletedTask;
    }
}
