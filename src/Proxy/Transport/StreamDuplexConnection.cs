using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;

namespace Sluice.Proxy.Transport;

/// <summary>
/// A TCP connection as a pair of pipes over a stream: the socket's NetworkStream, or an SslStream after TLS is
/// negotiated in-band. Reads start with a zero-byte read so an idle connection holds no rented buffer.
/// </summary>
internal sealed class StreamDuplexConnection : DuplexConnection
{
    private readonly Socket _socket;
    private int _disposed;
    private Stream _stream;
    private PipeReader _input;
    private PipeWriter _output;

    public StreamDuplexConnection(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
        RemoteEndPoint = socket.RemoteEndPoint as IPEndPoint;
        LocalEndPoint = socket.LocalEndPoint;
        (_input, _output) = StreamPipes.Create(_stream);
    }

    public override PipeReader Input => _input;

    public override PipeWriter Output => _output;

    public override IPEndPoint? RemoteEndPoint { get; }

    public override EndPoint? LocalEndPoint { get; }

    /// <summary>The stream the pipes run over; replaced when TLS is negotiated.</summary>
    public override Stream Stream => _stream;

    public override void ReplaceStream(Stream stream)
    {
        // The plaintext pipes are done: completing them returns their buffers (nothing is buffered for writing, and
        // they leave the network stream open for the TLS stream over it).
        _input.Complete();
        _output.Complete();
        _stream = stream;
        (_input, _output) = StreamPipes.Create(stream);
    }

    public override bool HasPendingInputOrClosed()
    {
        try
        {
            return _socket.Poll(0, SelectMode.SelectRead) || _socket.Poll(0, SelectMode.SelectError);
        }
        catch (ObjectDisposedException)
        {
            return true;
        }
        catch (SocketException)
        {
            return true;
        }
    }

    public override void Abort()
    {
        try
        {
            _socket.Close(0);
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public override async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            await _input.CompleteAsync();
            await _output.CompleteAsync();
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or SocketException or InvalidOperationException)
        {
        }

        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }

        await _stream.DisposeAsync();
        _socket.Dispose();
    }
}
