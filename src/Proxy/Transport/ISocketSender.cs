namespace Sluice.Proxy.Transport;

/// <summary>
/// How <see cref="SocketPipeWriter"/> puts bytes into a non-blocking socket: at once when the socket buffer has room,
/// and by waiting for room when it has none. The socket transport waits with .NET's SendAsync; the epoll transport
/// waits for its own loop to report the socket writable.
/// </summary>
internal interface ISocketSender
{
    /// <summary>Bytes the socket buffer took now; 0 when it is full. Throws SocketException or ObjectDisposedException.</summary>
    int SendNow(ReadOnlySpan<byte> bytes);

    /// <summary>Waits until the socket buffer has room and sends what it takes (at least one byte).</summary>
    ValueTask<int> SendWhenWritableAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken);
}
