using System.Net.Sockets;

namespace Sluice.Proxy.Transport;

/// <summary>
/// The sending half of a non-blocking socket as a write-only stream, for a <c>PipeWriter.Create</c> to flush into:
/// a flush goes straight to the socket on the flushing thread (no send pipe, no send loop), and the writer returns its
/// segments once flushed, so an idle connection holds nothing for sending. A send that the socket buffer takes whole
/// (the common case) is one syscall and no asynchronous operation; only a full buffer waits.
/// </summary>
internal sealed class SocketSender : AsyncOnlyStream
{
    private readonly Socket _socket;

    /// <summary>The socket must be non-blocking (<c>Blocking = false</c>).</summary>
    public SocketSender(Socket socket)
    {
        _socket = socket;
    }

    public override bool CanRead => false;

    public override bool CanWrite => true;

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        try
        {
            var sent = SendNow(buffer.Span);
            return sent == buffer.Length ? ValueTask.CompletedTask : SendRestAsync(buffer[sent..], cancellationToken);
        }
        catch (SocketException ex)
        {
            return ValueTask.FromException(new IOException(ex.Message, ex));
        }
        catch (ObjectDisposedException ex)
        {
            return ValueTask.FromException(new IOException("connection aborted", ex));
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private int SendNow(ReadOnlySpan<byte> span)
    {
        var sent = _socket.Send(span, SocketFlags.None, out var socketError);
        return socketError switch
        {
            SocketError.Success => sent,
            SocketError.WouldBlock => 0,
            _ => throw new SocketException((int)socketError),
        };
    }

    /// <summary>The socket buffer is full (a slow reader, a large result): wait for room, as often as it takes.</summary>
    private async ValueTask SendRestAsync(ReadOnlyMemory<byte> rest, CancellationToken cancellationToken)
    {
        try
        {
            while (!rest.IsEmpty)
            {
                var sent = await _socket.SendAsync(rest, SocketFlags.None, cancellationToken);
                rest = rest[sent..];
            }
        }
        catch (SocketException ex)
        {
            throw new IOException(ex.Message, ex);
        }
        catch (ObjectDisposedException ex)
        {
            throw new IOException("connection aborted", ex);
        }
    }
}
