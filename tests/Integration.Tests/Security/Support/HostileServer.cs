using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Sluice.Integration.Tests.Security.Support;

/// <summary>How the fake server behaves on its next connections.</summary>
public enum HostileMode
{
    WellBehaved,

    // While the proxy logs in.
    GarbageAfterStartup,
    NegativeLength,
    HugeLength,
    UnknownMessageType,
    ParameterStatusFlood,
    NoticeFlood,
    UnknownAuthenticationRequest,
    SaslContinueNeverStarted,
    CloseAtOnce,
    NeverAnswers,
    BadReadyForQuery,
    ErrorWithoutSqlState,

    // Answering the proxy's SSLRequest.
    SslAnswerNeitherSNorN,
    SslPlaintextAfterS,
    SslGarbageHandshake,

    // After a clean login, answering the first query.
    ReplyWithNegativeLength,
    ReplyRowThenClose,
    ReplyWithGarbage,
    ReplyCutMidMessage,
}

/// <summary>
/// A fake PostgreSQL on loopback that logs anyone in (trust) and answers simple queries with one row — or, in the
/// other modes, sends garbage during login, during TLS negotiation or in a reply. Every loop here is bounded.
/// </summary>
internal sealed class HostileServer : IAsyncDisposable
{
    private const int MaxFloodMessages = 1_000_000;

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<Socket, byte> _open = new();
    private readonly Task _accepting;
    private volatile HostileMode _mode;

    public HostileServer()
    {
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public int Accepted { get; private set; }

    /// <summary>Switches behaviour and drops every open connection, so the proxy has to come back with new ones.</summary>
    public async Task SetModeAsync(HostileMode mode)
    {
        _mode = mode;
        foreach (var socket in _open.Keys)
        {
            socket.Close(0);
        }

        // Let the proxy's pool see the closes before the next checkout.
        await Task.Delay(100);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        foreach (var socket in _open.Keys)
        {
            socket.Close(0);
        }

        try
        {
            await _accepting;
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var socket = await _listener.AcceptSocketAsync(_stop.Token);
            Accepted++;
            _open.TryAdd(socket, 0);
            _ = ServeAsync(socket, _mode);
        }
    }

    private async Task ServeAsync(Socket socket, HostileMode mode)
    {
        try
        {
            await using var stream = new NetworkStream(socket, ownsSocket: true);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            timeout.CancelAfter(TimeSpan.FromSeconds(60));
            await ServeAsync(stream, mode, timeout.Token);
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException or EndOfStreamException)
        {
        }
        finally
        {
            _open.TryRemove(socket, out _);
            socket.Dispose();
        }
    }

    private async Task ServeAsync(NetworkStream stream, HostileMode mode, CancellationToken cancellationToken)
    {
        var packet = await ReadStartupPacketAsync(stream, cancellationToken);
        if (BinaryPrimitives.ReadInt32BigEndian(packet.AsSpan(0, 4)) == ((1234 << 16) | 5679))
        {
            switch (mode)
            {
                case HostileMode.SslAnswerNeitherSNorN:
                    await SendAsync(stream, "X"u8.ToArray(), cancellationToken);
                    await Task.Delay(Timeout.Infinite, cancellationToken);
                    return;
                case HostileMode.SslPlaintextAfterS:
                    await SendAsync(stream, [(byte)'S', .. Message('R', Int32(0))], cancellationToken);
                    await Task.Delay(Timeout.Infinite, cancellationToken);
                    return;
                case HostileMode.SslGarbageHandshake:
                    await SendAsync(stream, "S"u8.ToArray(), cancellationToken);
                    // Apart from the 'S', so the proxy is already in its handshake when the garbage comes.
                    await Task.Delay(200, cancellationToken);
                    await SendAsync(stream, RandomBytes(2000), cancellationToken);
                    await Task.Delay(Timeout.Infinite, cancellationToken);
                    return;
            }

            await SendAsync(stream, "N"u8.ToArray(), cancellationToken);
            await ReadStartupPacketAsync(stream, cancellationToken);
        }

        switch (mode)
        {
            case HostileMode.GarbageAfterStartup:
                await SendAsync(stream, RandomBytes(Random.Shared.Next(64, 4096)), cancellationToken);
                return;
            case HostileMode.NegativeLength:
                await SendAsync(stream, [(byte)'R', .. Int32(-5)], cancellationToken);
                await Task.Delay(Timeout.Infinite, cancellationToken);
                return;
            case HostileMode.HugeLength:
                await SendAsync(stream, [(byte)'R', .. Int32(int.MaxValue)], cancellationToken);
                await Task.Delay(Timeout.Infinite, cancellationToken);
                return;
            case HostileMode.UnknownMessageType:
                await SendAsync(stream, Message('x', Int32(0)), cancellationToken);
                await Task.Delay(Timeout.Infinite, cancellationToken);
                return;
            case HostileMode.ParameterStatusFlood:
            case HostileMode.NoticeFlood:
                await SendAsync(stream, Message('R', Int32(0)), cancellationToken);
                for (var i = 0; i < MaxFloodMessages; i++)
                {
                    var flood = mode == HostileMode.ParameterStatusFlood
                        ? Message('S', CStrings("param_" + i, "value"))
                        : Message('N', [.. CStrings("SNOTICE", "C00000", "Mhello " + i), 0]);
                    await stream.WriteAsync(flood, cancellationToken);
                }

                return;
            case HostileMode.UnknownAuthenticationRequest:
                await SendAsync(stream, Message('R', Int32(99)), cancellationToken);
                await Task.Delay(Timeout.Infinite, cancellationToken);
                return;
            case HostileMode.SaslContinueNeverStarted:
                await SendAsync(stream, Message('R', [.. Int32(11), .. "r=abc,s=c2FsdA==,i=4096"u8.ToArray()]), cancellationToken);
                await Task.Delay(Timeout.Infinite, cancellationToken);
                return;
            case HostileMode.CloseAtOnce:
                return;
            case HostileMode.NeverAnswers:
                await Task.Delay(Timeout.Infinite, cancellationToken);
                return;
            case HostileMode.BadReadyForQuery:
                await SendAsync(stream, [.. Message('R', Int32(0)), .. Message('Z', "?"u8.ToArray())], cancellationToken);
                await Task.Delay(Timeout.Infinite, cancellationToken);
                return;
            case HostileMode.ErrorWithoutSqlState:
                await SendAsync(stream, Message('E', [.. CStrings("SFATAL", "Mno state here"), 0]), cancellationToken);
                return;
        }

        await SendAsync(stream, LoginReply(), cancellationToken);
        await ServeQueriesAsync(stream, mode, cancellationToken);
    }

    private async Task ServeQueriesAsync(NetworkStream stream, HostileMode mode, CancellationToken cancellationToken)
    {
        for (var queries = 0; queries < 10_000; queries++)
        {
            var header = new byte[5];
            await stream.ReadExactlyAsync(header, cancellationToken);
            var length = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(1));
            if (length is < 4 or > 1 << 20)
            {
                return;
            }

            await stream.ReadExactlyAsync(new byte[length - 4], cancellationToken);
            switch ((char)header[0])
            {
                case 'X':
                    return;
                case 'Q':
                    break;
                default:
                    continue;
            }

            switch (mode)
            {
                case HostileMode.ReplyWithNegativeLength:
                    await SendAsync(stream, [(byte)'T', .. Int32(-1), .. RandomBytes(20)], cancellationToken);
                    await Task.Delay(Timeout.Infinite, cancellationToken);
                    return;
                case HostileMode.ReplyRowThenClose:
                    await SendAsync(stream, [.. RowDescription(), .. DataRow("1")], cancellationToken);
                    return;
                case HostileMode.ReplyWithGarbage:
                    await SendAsync(stream, RandomBytes(Random.Shared.Next(16, 4096)), cancellationToken);
                    return;
                case HostileMode.ReplyCutMidMessage:
                    await SendAsync(stream, [.. RowDescription(), .. DataRow(new string('x', 5000))[..1000]], cancellationToken);
                    return;
                default:
                    await SendAsync(stream, [.. RowDescription(), .. DataRow("1"), .. Message('C', CStrings("SELECT 1")), .. Message('Z', "I"u8.ToArray())], cancellationToken);
                    break;
            }
        }
    }

    private static async Task<byte[]> ReadStartupPacketAsync(NetworkStream stream, CancellationToken cancellationToken)
    {
        var lengthBytes = new byte[4];
        await stream.ReadExactlyAsync(lengthBytes, cancellationToken);
        var length = BinaryPrimitives.ReadInt32BigEndian(lengthBytes);
        if (length is < 8 or > 10_000)
        {
            throw new IOException("bad startup packet from the proxy");
        }

        var packet = new byte[length];
        lengthBytes.CopyTo(packet, 0);
        await stream.ReadExactlyAsync(packet.AsMemory(4), cancellationToken);
        return packet.AsSpan(4).ToArray();
    }

    private static async Task SendAsync(NetworkStream stream, byte[] bytes, CancellationToken cancellationToken)
    {
        await stream.WriteAsync(bytes, cancellationToken);
        await stream.FlushAsync(cancellationToken);
    }

    private static byte[] LoginReply() =>
    [
        .. Message('R', Int32(0)),
        .. Message('S', CStrings("server_version", "15.0")),
        .. Message('S', CStrings("client_encoding", "UTF8")),
        .. Message('S', CStrings("server_encoding", "UTF8")),
        .. Message('S', CStrings("DateStyle", "ISO, MDY")),
        .. Message('S', CStrings("integer_datetimes", "on")),
        .. Message('S', CStrings("standard_conforming_strings", "on")),
        .. Message('K', [.. Int32(4242), .. Int32(77)]),
        .. Message('Z', "I"u8.ToArray()),
    ];

    private static byte[] RowDescription() =>
        Message('T', [0, 1, .. CStrings("x"), .. Int32(0), 0, 0, .. Int32(25), 0xFF, 0xFF, .. Int32(-1), 0, 0]);

    private static byte[] DataRow(string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        return Message('D', [0, 1, .. Int32(bytes.Length), .. bytes]);
    }

    private static byte[] Message(char code, byte[] payload)
    {
        var frame = new byte[5 + payload.Length];
        frame[0] = (byte)code;
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(1), payload.Length + 4);
        payload.CopyTo(frame, 5);
        return frame;
    }

    private static byte[] Int32(int value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(bytes, value);
        return bytes;
    }

    private static byte[] CStrings(params string[] values) => [.. values.SelectMany(value => Encoding.UTF8.GetBytes(value + "\0"))];

    private static byte[] RandomBytes(int count)
    {
        var bytes = new byte[count];
        Random.Shared.NextBytes(bytes);
        return bytes;
    }
}
