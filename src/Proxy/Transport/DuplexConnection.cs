using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Sluice.Proxy.Transport.Epoll;

namespace Sluice.Proxy.Transport;

/// <summary>
/// One connection (client or server side) seen as a pair of pipes. The relay, login and TLS code talk only to this
/// type, so a socket implementation can be swapped by measurement and tests can drive exact interleavings over
/// <see cref="InMemoryConnection"/> pairs.
/// </summary>
internal abstract class DuplexConnection : IDuplexPipe, IAsyncDisposable
{
    public abstract PipeReader Input { get; }

    public abstract PipeWriter Output { get; }

    public abstract IPEndPoint? RemoteEndPoint { get; }

    public abstract EndPoint? LocalEndPoint { get; }

    /// <summary>
    /// The byte stream under the pipes, for wrapping in TLS after the in-band SSLRequest. Only valid once everything
    /// read so far has been consumed; <see cref="ReplaceStream"/> then puts the wrapping stream under new pipes.
    /// </summary>
    public abstract Stream Stream { get; }

    /// <summary>Wraps an accepted socket; the connection owns it from now on.</summary>
    public static DuplexConnection Create(Socket socket) => Create(socket, TransportSelection.Current);

    /// <summary>Wraps an accepted or connected socket in the given implementation (tests compare them).</summary>
    public static DuplexConnection Create(Socket socket, TransportKind kind)
    {
        socket.NoDelay = true;
        return kind switch
        {
            TransportKind.Stream => new StreamDuplexConnection(socket),
            TransportKind.SocketsUnofficial => new UnofficialSocketConnection(socket),
            TransportKind.Epoll => new EpollConnection(socket),
            _ => new SocketDuplexConnection(socket),
        };
    }

    public static async ValueTask<DuplexConnection> ConnectAsync(string host, int port, CancellationToken cancellationToken)
    {
        if (TransportSelection.Current == TransportKind.Epoll)
        {
            // .NET's ConnectAsync would tie the socket to .NET's own epoll as well.
            return await EpollConnection.ConnectNonBlockingAsync(host, port, cancellationToken);
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(host, port, cancellationToken);
            return Create(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Puts a new stream (an authenticated SslStream over <see cref="Stream"/>) under the pipes. The caller must have
    /// consumed everything read so far: bytes buffered in the old reader belong to the plaintext phase. The plaintext
    /// pipes are the implementation's to release (or keep, where they feed <see cref="Stream"/>): callers must not
    /// complete them.
    /// </summary>
    public abstract void ReplaceStream(Stream stream);

    /// <summary>
    /// True when the peer has closed or reset the connection, or sent something unasked: either way, a pooled server in
    /// that state must not be handed out. Never blocks; only called while nobody reads the connection.
    /// </summary>
    public abstract bool HasPendingInputOrClosed();

    /// <summary>Tears the connection down without a goodbye; pending reads and writes fail.</summary>
    public abstract void Abort();

    public abstract ValueTask DisposeAsync();
}
