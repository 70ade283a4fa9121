using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;

namespace Sluice.Integration.Tests.TransactionMode;

/// <summary>One backend message: its type byte and payload.</summary>
internal sealed record RawMessage(char Code, byte[] Payload)
{
    /// <summary>The fields of an ErrorResponse/NoticeResponse by their one-letter code (C = SQLSTATE, M = message).</summary>
    public IReadOnlyDictionary<char, string> Fields()
    {
        var fields = new Dictionary<char, string>();
        var at = 0;
        while (at < Payload.Length && Payload[at] != 0)
        {
            var code = (char)Payload[at++];
            var end = Array.IndexOf(Payload, (byte)0, at);
            fields[code] = Encoding.UTF8.GetString(Payload, at, end - at);
            at = end + 1;
        }

        return fields;
    }
}

/// <summary>
/// A bare-bones frontend over a socket, for what a driver will not do on purpose: send exactly the messages a test
/// wants (a Bind with the wrong parameter count), or drop the connection without a Terminate. Trust or clear-text
/// password logins only.
/// </summary>
internal sealed class RawClient : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly List<byte> _pending = [];

    private RawClient(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
    }

    public static async Task<RawClient> ConnectAsync(int port, string user, string? password, string database, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync("127.0.0.1", port, cancellationToken);
        var client = new RawClient(socket);
        var body = new List<byte>();
        body.AddRange(BigEndian(196608));
        foreach (var (name, value) in new[] { ("user", user), ("database", database) })
        {
            body.AddRange(CString(name));
            body.AddRange(CString(value));
        }

        body.Add(0);
        var startup = new List<byte>(BigEndian(body.Count + 4));
        startup.AddRange(body);
        await client._stream.WriteAsync(startup.ToArray(), cancellationToken);
        while (true)
        {
            var message = await client.ReadAsync(cancellationToken);
            switch (message.Code)
            {
                case 'R' when BinaryPrimitives.ReadInt32BigEndian(message.Payload) == 3:
                    client.Add('p', CString(password ?? ""));
                    await client.FlushAsync(cancellationToken);
                    break;
                case 'K':
                    client.ProcessId = BinaryPrimitives.ReadInt32BigEndian(message.Payload);
                    client.SecretKey = BinaryPrimitives.ReadInt32BigEndian(message.Payload.AsSpan(4));
                    break;
                case 'R' when BinaryPrimitives.ReadInt32BigEndian(message.Payload) == 0:
                case 'S' or 'N':
                    break;
                case 'Z':
                    return client;
                case 'E':
                    throw new InvalidOperationException("login refused: " + message.Fields()['M']);
                default:
                    throw new InvalidOperationException($"unexpected message '{message.Code}' during login");
            }
        }
    }

    /// <summary>The BackendKeyData the proxy gave this client.</summary>
    public int ProcessId { get; private set; }

    public int SecretKey { get; private set; }

    /// <summary>Sends a CancelRequest for this client (or with another secret key) on a new connection and waits until the proxy closes it.</summary>
    public async Task SendCancelAsync(int port, CancellationToken cancellationToken, int? secretKey = null)
    {
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync("127.0.0.1", port, cancellationToken);
        await socket.SendAsync((byte[])[.. BigEndian(16), .. BigEndian(80877102), .. BigEndian(ProcessId), .. BigEndian(secretKey ?? SecretKey)], cancellationToken);
        var buffer = new byte[16];
        while (await socket.ReceiveAsync(buffer, cancellationToken) > 0)
        {
        }
    }

    public void Query(string sql) => Add('Q', CString(sql));

    public void Parse(string statement, string sql) => Add('P', [.. CString(statement), .. CString(sql), 0, 0]);

    /// <summary>Bind with text parameters (null = SQL NULL) and text results.</summary>
    public void Bind(string portal, string statement, params string?[] parameters)
    {
        var body = new List<byte>();
        body.AddRange(CString(portal));
        body.AddRange(CString(statement));
        body.AddRange([0, 0]);
        body.AddRange(BigEndian16(parameters.Length));
        foreach (var parameter in parameters)
        {
            if (parameter is null)
            {
                body.AddRange(BigEndian(-1));
                continue;
            }

            var bytes = Encoding.UTF8.GetBytes(parameter);
            body.AddRange(BigEndian(bytes.Length));
            body.AddRange(bytes);
        }

        body.AddRange([0, 0]);
        Add('B', [.. body]);
    }

    public void Describe(char kind, string name) => Add('D', [(byte)kind, .. CString(name)]);

    public void Execute(string portal = "") => Add('E', [.. CString(portal), 0, 0, 0, 0]);

    public void Close(char kind, string name) => Add('C', [(byte)kind, .. CString(name)]);

    public void Sync() => Add('S', []);

    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        await _stream.WriteAsync(_pending.ToArray(), cancellationToken);
        _pending.Clear();
    }

    /// <summary>Sends what is queued and reads every message up to and including the next ReadyForQuery.</summary>
    public async Task<List<RawMessage>> RoundTripAsync(CancellationToken cancellationToken)
    {
        await FlushAsync(cancellationToken);
        return await ReadUntilReadyAsync(cancellationToken);
    }

    public async Task<List<RawMessage>> ReadUntilReadyAsync(CancellationToken cancellationToken)
    {
        var messages = new List<RawMessage>();
        while (true)
        {
            var message = await ReadAsync(cancellationToken);
            messages.Add(message);
            if (message.Code == 'Z')
            {
                return messages;
            }
        }
    }

    public async Task<RawMessage> ReadAsync(CancellationToken cancellationToken)
    {
        var header = new byte[5];
        await _stream.ReadExactlyAsync(header, cancellationToken);
        var payload = new byte[BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(1)) - 4];
        await _stream.ReadExactlyAsync(payload, cancellationToken);
        return new RawMessage((char)header[0], payload);
    }

    /// <summary>Resets the TCP connection (RST, no Terminate): the client "crashes".</summary>
    public void Abort()
    {
        _socket.LingerState = new LingerOption(true, 0);
        _socket.Close();
    }

    public async ValueTask DisposeAsync() => await _stream.DisposeAsync();

    private void Add(char code, byte[] body)
    {
        _pending.Add((byte)code);
        _pending.AddRange(BigEndian(body.Length + 4));
        _pending.AddRange(body);
    }

    private static byte[] CString(string value) => [.. Encoding.UTF8.GetBytes(value), 0];

    private static byte[] BigEndian(int value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(bytes, value);
        return bytes;
    }

    private static byte[] BigEndian16(int value)
    {
        var bytes = new byte[2];
        BinaryPrimitives.WriteInt16BigEndian(bytes, (short)value);
        return bytes;
    }
}
