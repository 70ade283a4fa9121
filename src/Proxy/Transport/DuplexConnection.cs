using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;

namespace Sluice.Proxy.Transport;

/// <summary>
/// One TCP connection (client or server side) seen as a pair of pipes over a stream: the socket's NetworkStream, or an
/// SslStream after TLS is negotiated in-band. Reads start with a zero-byte read so an idle connection holds no rented
/// buffer (DESIGN.md: memory per idle client is a few KB).
/// </summary>
internal sealed class DuplexConnection : IAsyncDisposable
{
    /// <summary>Size of the segments rented per read; large results stream through in reads of this size.</summary>
    private const int ReadBufferSize = 16 * 1024;

    private int _disposed;

    private DuplexConnection(Socket socket, Stream stream)
    {
        Socket = socket;
        Stream = stream;
        RemoteEndPoint = socket.RemoteEndPoint as IPEndPoint;
        (Input, Output) = CreatePipes(stream);
    }

    public Socket Socket { get; }

    /// <summary>The stream the pipes run over; replaced when TLS is negotiated.</summary>
    public Stream Stream { get; private set; }

    public IPEndPoint? RemoteEndPoint { get; }

    public PipeReader Input { get; private set; }

    public PipeWriter Output { get; private set; }

    public static DuplexConnection Create(Socket socket)
    {
        socket.NoDelay = true;
        return new DuplexConnection(socket, new NetworkStream(socket, ownsSocket: false));
    }

    public static async ValueTask<DuplexConnection> ConnectAsync(string host, int port, CancellationToken cancellationToken)
    {
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
    /// Puts a new stream (an authenticated SslStream over the old one) under the pipes. The caller must have consumed
    /// everything read so far: bytes buffered in the old reader belong to the plaintext phase.
    /// </summary>
    public void ReplaceStream(Stream stream)
    {
        Stream = stream;
        (Input, Output) = CreatePipes(stream);
    }

    /// <summary>
    /// True when the peer has closed or reset the connection, or sent something unasked: either way, a pooled server in
    /// that state must not be handed out. Never blocks.
    /// </summary>
    public bool HasPendingInputOrClosed()
    {
        try
        {
            return Socket.Poll(0, SelectMode.SelectRead) || Socket.Poll(0, SelectMode.SelectError);
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

    /// <summary>Tears the connection down without a goodbye; pending reads and writes fail.</summary>
    public void Abort()
    {
        try
        {
            Socket.Close(0);
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            await Input.CompleteAsync();
            await Output.CompleteAsync();
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or SocketException or InvalidOperationException)
        {
        }

        try
        {
            Socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }

        await Stream.DisposeAsync();
        Socket.Dispose();
    }

    private static (PipeReader, PipeWriter) CreatePipes(Stream stream) =>
        (PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: ReadBufferSize, minimumReadSize: 2048, leaveOpen: true, useZeroByteReads: true)),
         PipeWriter.Create(stream, new StreamPipeWriterOptions(minimumBufferSize: 4096, leaveOpen: true)));
}
