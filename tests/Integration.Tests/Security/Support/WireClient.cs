using System.Buffers.Binary;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Sluice.Integration.Tests.Security.Support;

/// <summary>
/// A bare PostgreSQL wire client for the cases real drivers never produce: half packets, garbage, stalls, TLS by hand.
/// </summary>
internal sealed class WireClient : IAsyncDisposable
{
    private readonly Socket _socket;

    private WireClient(Socket socket)
    {
        _socket = socket;
        Stream = new NetworkStream(socket, ownsSocket: false);
    }

    /// <summary>The plaintext stream, or the TLS stream once <see cref="RequestTlsAsync"/> succeeded.</summary>
    public Stream Stream { get; private set; }

    public SslStream? Tls => Stream as SslStream;

    /// <summary>"127.0.0.1:PORT" as the proxy sees (and logs) this client.</summary>
    public string LocalAddress => _socket.LocalEndPoint?.ToString() ?? "";

    /// <summary>Connects to 127.0.0.1:<paramref name="port"/>, from <paramref name="from"/> (another 127.x address) when given.</summary>
    public static async Task<WireClient> ConnectAsync(int port, IPAddress? from = null, CancellationToken cancellationToken = default)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            if (from is not null)
            {
                socket.Bind(new IPEndPoint(from, 0));
            }

            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cancellationToken);
            return new WireClient(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public async Task SendAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken = default)
    {
        await Stream.WriteAsync(bytes, cancellationToken);
        await Stream.FlushAsync(cancellationToken);
    }

    /// <summary>Tells the proxy nothing more will come (a TLS close_notify first when encrypted).</summary>
    public async Task ShutdownSendAsync()
    {
        try
        {
            if (Tls is { } tls)
            {
                await tls.ShutdownAsync();
            }

            _socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception ex) when (ex is SocketException or IOException or ObjectDisposedException)
        {
        }
    }

    /// <summary>
    /// Sends SSLRequest and reads the one-byte answer; on 'S' runs a TLS handshake that accepts any certificate
    /// (tests look at <see cref="Tls"/>'s RemoteCertificate themselves). Returns the answer byte.
    /// </summary>
    public async Task<char> RequestTlsAsync(SslProtocols protocols = SslProtocols.None, CancellationToken cancellationToken = default)
    {
        await SendAsync(Frames.SslRequest(), cancellationToken);
        var answer = new byte[1];
        await Stream.ReadExactlyAsync(answer, cancellationToken);
        if (answer[0] != (byte)'S')
        {
            return (char)answer[0];
        }

        var ssl = new SslStream(Stream, leaveInnerStreamOpen: false);
        await ssl.AuthenticateAsClientAsync(
            new SslClientAuthenticationOptions
            {
                TargetHost = "localhost",
                EnabledSslProtocols = protocols,
                RemoteCertificateValidationCallback = static (_, _, _, _) => true,
            },
            cancellationToken);
        Stream = ssl;
        return 'S';
    }

    public X509Certificate2? RemoteCertificate => Tls?.RemoteCertificate is { } certificate ? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()) : null;

    /// <summary>Reads one backend message; null when the proxy closed the connection.</summary>
    public async Task<BackendMessage?> ReadMessageAsync(CancellationToken cancellationToken = default)
    {
        var header = new byte[5];
        if (!await TryReadExactlyAsync(header, cancellationToken))
        {
            return null;
        }

        var length = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(1));
        if (length < 4 || length > 1 << 24)
        {
            throw new InvalidDataException($"the proxy sent a message '{(char)header[0]}' of length {length}");
        }

        var payload = new byte[length - 4];
        return await TryReadExactlyAsync(payload, cancellationToken) ? new BackendMessage((char)header[0], payload) : null;
    }

    /// <summary>Reads messages until an ErrorResponse (returned) or the end of the connection (null).</summary>
    public async Task<BackendMessage?> ReadUntilErrorAsync(CancellationToken cancellationToken = default)
    {
        while (await ReadMessageAsync(cancellationToken) is { } message)
        {
            if (message.Type == 'E')
            {
                return message;
            }
        }

        return null;
    }

    /// <summary>
    /// Everything the proxy still sends, until it closes the connection or <paramref name="timeout"/> passes.
    /// </summary>
    public async Task<(byte[] Received, bool Closed)> ReadToEndAsync(TimeSpan timeout)
    {
        using var received = new MemoryStream();
        using var deadline = new CancellationTokenSource(timeout);
        var buffer = new byte[4096];
        try
        {
            while (true)
            {
                var read = await Stream.ReadAsync(buffer, deadline.Token);
                if (read == 0)
                {
                    return (received.ToArray(), true);
                }

                if (received.Length < 1 << 20)
                {
                    received.Write(buffer, 0, read);
                }
            }
        }
        catch (OperationCanceledException)
        {
            return (received.ToArray(), false);
        }
        catch (Exception ex) when (ex is IOException or SocketException or AuthenticationException or ObjectDisposedException)
        {
            // A reset counts as closed: the proxy dropped the connection.
            return (received.ToArray(), true);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Stream.DisposeAsync();
        }
        catch (Exception ex) when (ex is IOException or SocketException or AuthenticationException)
        {
        }

        _socket.Dispose();
    }

    private async Task<bool> TryReadExactlyAsync(byte[] buffer, CancellationToken cancellationToken)
    {
        try
        {
            await Stream.ReadExactlyAsync(buffer, cancellationToken);
            return true;
        }
        catch (EndOfStreamException)
        {
            return false;
        }
        catch (IOException)
        {
            return false;
        }
    }
}

/// <summary>One backend message as the proxy sent it.</summary>
internal sealed record BackendMessage(char Type, byte[] Payload)
{
    /// <summary>The field of an ErrorResponse/NoticeResponse with the given code ('C' SQLSTATE, 'M' message), or null.</summary>
    public string? Field(char code)
    {
        var span = Payload.AsSpan();
        while (span.Length > 1 && span[0] != 0)
        {
            var end = span[1..].IndexOf((byte)0);
            if (end < 0)
            {
                return null;
            }

            if (span[0] == (byte)code)
            {
                return Encoding.UTF8.GetString(span.Slice(1, end));
            }

            span = span[(end + 2)..];
        }

        return null;
    }

    public string? SqlState => Field('C');

    public string? Message => Field('M');
}

/// <summary>Frontend packets written by hand.</summary>
internal static class Frames
{
    public static byte[] SslRequest() => Int32Pair(8, (1234 << 16) | 5679);

    public static byte[] GssEncRequest() => Int32Pair(8, (1234 << 16) | 5680);

    public static byte[] Startup(params (string Name, string Value)[] parameters)
    {
        var body = new MemoryStream();
        foreach (var (name, value) in parameters)
        {
            body.Write(Encoding.UTF8.GetBytes(name));
            body.WriteByte(0);
            body.Write(Encoding.UTF8.GetBytes(value));
            body.WriteByte(0);
        }

        body.WriteByte(0);
        var packet = new byte[8 + body.Length];
        BinaryPrimitives.WriteInt32BigEndian(packet, packet.Length);
        BinaryPrimitives.WriteInt32BigEndian(packet.AsSpan(4), 3 << 16);
        body.ToArray().CopyTo(packet, 8);
        return packet;
    }

    /// <summary>A typed message: code, Int32 length (payload + 4), payload.</summary>
    public static byte[] Message(char code, ReadOnlySpan<byte> payload)
    {
        var frame = new byte[5 + payload.Length];
        frame[0] = (byte)code;
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(1), payload.Length + 4);
        payload.CopyTo(frame.AsSpan(5));
        return frame;
    }

    public static byte[] Query(string sql) => Message('Q', [.. Encoding.UTF8.GetBytes(sql), 0]);

    public static byte[] Int32Pair(int first, int second)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteInt32BigEndian(bytes, first);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), second);
        return bytes;
    }
}
