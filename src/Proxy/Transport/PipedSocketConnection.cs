using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;

namespace Sluice.Proxy.Transport;

/// <summary>
/// What the transports that own their socket loops share: a pair of pipes filled and drained by those loops (the raw
/// pipes), and for TLS an SslStream over those pipes with stream pipes over it. The loops keep running under TLS, so
/// a TLS connection is socket → raw pipe → SslStream → pipe; only the handshake and the rare TLS session pay for that.
/// </summary>
internal abstract class PipedSocketConnection : DuplexConnection
{
    /// <summary>How long a closing connection may take to hand its last bytes to a peer that does not read.</summary>
    private static readonly TimeSpan LastSendTimeout = TimeSpan.FromSeconds(1);

    private IPEndPoint? _remoteEndPoint;
    private EndPoint? _localEndPoint;
    private PipeStream? _rawStream;
    private Stream? _tls;
    private PipeReader? _tlsInput;
    private PipeWriter? _tlsOutput;

    /// <param name="socket">The connection's socket, owned from now on.</param>
    /// <param name="connected">
    /// False while a non-blocking connect is under way: asking .NET for the remote address then polls the socket and
    /// takes its pending error (SO_ERROR), which the connect's owner must read itself. <see cref="RefreshEndPoints"/>
    /// reads them once connected.
    /// </param>
    protected PipedSocketConnection(Socket socket, bool connected = true)
    {
        Socket = socket;
        if (connected)
        {
            RefreshEndPoints();
        }
    }

    public sealed override PipeReader Input => _tlsInput ?? Raw.Input;

    public sealed override PipeWriter Output => _tlsOutput ?? Raw.Output;

    public sealed override IPEndPoint? RemoteEndPoint => _remoteEndPoint;

    public sealed override EndPoint? LocalEndPoint => _localEndPoint;

    /// <summary>The raw pipes as a stream, for the SslStream; TLS wraps the plaintext phase only once.</summary>
    public sealed override Stream Stream => _tls ?? (_rawStream ??= new PipeStream(Raw));

    protected Socket Socket { get; }

    /// <summary>The pipes the socket loops fill and drain.</summary>
    protected abstract IDuplexPipe Raw { get; }

    public sealed override void ReplaceStream(Stream stream)
    {
        _tls = stream;
        (_tlsInput, _tlsOutput) = StreamPipes.Create(stream);
    }

    public sealed override bool HasPendingInputOrClosed() =>
        (_tlsInput is not null && PipePeek.HasPendingInputOrClosed(_tlsInput)) || PipePeek.HasPendingInputOrClosed(Raw.Input);

    public sealed override void Abort()
    {
        OnAbort();
        try
        {
            // Close(0) turns the close into a reset, and fails the pending receive and send at once.
            Socket.Close(0);
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public sealed override async ValueTask DisposeAsync()
    {
        if (!TryStartDispose())
        {
            return;
        }

        try
        {
            if (_tlsInput is not null && _tlsOutput is not null)
            {
                await _tlsInput.CompleteAsync();
                await _tlsOutput.CompleteAsync();
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or SocketException or InvalidOperationException)
        {
        }

        if (_tls is not null)
        {
            try
            {
                await _tls.DisposeAsync();
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
            {
            }
        }

        await Raw.Input.CompleteAsync();
        await CloseAsync();
    }

    /// <summary>Before the socket is reset by <see cref="Abort"/>: for loops that must stop waiting on it first.</summary>
    protected virtual void OnAbort()
    {
    }

    /// <summary>Reads both ends' addresses again: a socket whose non-blocking connect has just finished has them now.</summary>
    protected void RefreshEndPoints()
    {
        _remoteEndPoint = Socket.RemoteEndPoint as IPEndPoint;
        _localEndPoint = Socket.LocalEndPoint;
    }

    /// <summary>Completing the writer sends what it still holds; a peer that does not read gets cut off.</summary>
    protected static async ValueTask CompleteSendingAsync(PipeWriter send)
    {
        try
        {
            await send.CompleteAsync().AsTask().WaitAsync(LastSendTimeout);
        }
        catch (Exception ex) when (ex is TimeoutException or IOException or InvalidOperationException)
        {
        }
    }

    /// <summary>A goodbye in both directions (FIN), then the descriptor closes.</summary>
    protected void ShutdownAndClose()
    {
        try
        {
            Socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }

        Socket.Dispose();
    }

    /// <summary>False when a dispose already ran.</summary>
    protected abstract bool TryStartDispose();

    /// <summary>After the raw input is completed on our side: send what is left (bounded in time), then close the socket.</summary>
    protected abstract ValueTask CloseAsync();
}
