using System.Buffers.Binary;
using System.Text;

namespace Sluice.Integration.Tests.Security.Support;

/// <summary>Where in the login a fuzz case's bytes arrive.</summary>
internal enum FuzzPhase
{
    /// <summary>First bytes of a plaintext connection.</summary>
    Startup,

    /// <summary>First bytes inside a TLS session the proxy accepted.</summary>
    StartupOverTls,

    /// <summary>After SSLRequest was answered 'S', in place of a TLS ClientHello.</summary>
    TlsHandshake,

    /// <summary>Instead of the SASL messages a SCRAM login asks for.</summary>
    Authentication,

    /// <summary>After a successful (trust) login, in place of queries.</summary>
    LoggedIn,
}

/// <summary>One malformed input: its bytes, how many frames they hold, and where they go.</summary>
internal sealed record FuzzCase(string Kind, FuzzPhase Phase, byte[] Bytes, int Frames);

/// <summary>
/// Malformed frontend input, generated from a fixed seed so a failure can be replayed: wrong, negative and huge
/// lengths, truncated and oversized startup packets, unknown codes and message types, invalid UTF-8, plaintext
/// injected after SSLRequest, garbage TLS handshakes and SASL messages.
/// </summary>
internal sealed class FuzzCorpus(int seed)
{
    private static readonly byte[] FrontendCodes = "BCdcfDEHFPpQSX"u8.ToArray();

    private readonly Random _random = new(seed);

    public IEnumerable<FuzzCase> Cases()
    {
        for (var i = 0; i < 600; i++)
        {
            yield return new("random bytes", FuzzPhase.Startup, RandomBytes(1, 64), 1);
        }

        for (var i = 0; i < 400; i++)
        {
            yield return new("startup length out of range", FuzzPhase.Startup, StartupWithBadLength(), 1);
        }

        for (var i = 0; i < 300; i++)
        {
            var packet = ValidStartup();
            yield return new("truncated startup", FuzzPhase.Startup, packet[.._random.Next(1, packet.Length)], 1);
        }

        for (var i = 0; i < 200; i++)
        {
            yield return new("unknown protocol version", FuzzPhase.Startup, WithCode(RandomVersion()), 1);
        }

        for (var i = 0; i < 100; i++)
        {
            yield return new("unknown request code", FuzzPhase.Startup, WithCode((1234 << 16) | _random.Next(0, 5678)), 1);
        }

        for (var i = 0; i < 300; i++)
        {
            yield return new("non-UTF-8 parameter", FuzzPhase.Startup, StartupWithInvalidUtf8(), 1);
        }

        for (var i = 0; i < 20; i++)
        {
            yield return new("10,000 parameters", FuzzPhase.Startup, ManyParameters(10_000), 1);
            yield return new("1,001 parameters under the size cap", FuzzPhase.Startup, ManyParameters(1_001), 1);
        }

        for (var i = 0; i < 150; i++)
        {
            var packet = ValidStartup()[..^1];
            BinaryPrimitives.WriteInt32BigEndian(packet, packet.Length);
            yield return new("missing terminator", FuzzPhase.Startup, packet, 1);
        }

        for (var i = 0; i < 50; i++)
        {
            yield return new("no user", FuzzPhase.Startup, Frames.Startup(("database", "x")), 1);
            yield return new("parameter given twice", FuzzPhase.Startup, Frames.Startup(("user", "a"), ("user", "b")), 1);
        }

        for (var i = 0; i < 100; i++)
        {
            yield return new("plaintext after SSLRequest", FuzzPhase.Startup, [.. Frames.SslRequest(), .. RandomBytes(1, 200)], 2);
        }

        for (var i = 0; i < 100; i++)
        {
            yield return new("repeated encryption requests", FuzzPhase.Startup, [.. Frames.GssEncRequest(), .. Frames.GssEncRequest(), .. Frames.GssEncRequest()], 3);
        }

        for (var i = 0; i < 150; i++)
        {
            yield return new("cancel request with random key", FuzzPhase.Startup, CancelRequest(), 1);
        }

        for (var i = 0; i < 150; i++)
        {
            yield return new("garbage TLS handshake", FuzzPhase.TlsHandshake, RandomBytes(1, 600), 1);
        }

        for (var i = 0; i < 300; i++)
        {
            var bytes = (i % 3) switch
            {
                0 => StartupWithBadLength(),
                1 => StartupWithInvalidUtf8(),
                _ => RandomBytes(1, 64),
            };
            yield return new("malformed startup inside TLS", FuzzPhase.StartupOverTls, bytes, 1);
        }

        for (var i = 0; i < 500; i++)
        {
            yield return (i % 5) switch
            {
                0 => new("random message instead of SASL", FuzzPhase.Authentication, RandomFrame(RandomByte(), 0, 64), 1),
                1 => new("password message with random payload", FuzzPhase.Authentication, RandomFrame((byte)'p', 0, 300), 1),
                2 => new("password message with huge length", FuzzPhase.Authentication, Header((byte)'p', _random.Next(16 * 1024 + 5, int.MaxValue)), 1),
                3 => new("SASL with an unknown mechanism", FuzzPhase.Authentication, SaslInitial("SCRAM-SHA-1", "n,,n=,r=abc"), 1),
                _ => new("SASL first then garbage final", FuzzPhase.Authentication, [.. SaslInitial("SCRAM-SHA-256", "n,,n=,r=" + Nonce()), .. RandomFrame((byte)'p', 0, 120)], 2),
            };
        }

        for (var i = 0; i < 1200; i++)
        {
            yield return (i % 6) switch
            {
                0 or 1 => new("unknown message type", FuzzPhase.LoggedIn, RandomFrame(UnknownFrontendCode(), 0, 64), 1),
                2 => new("negative or short length", FuzzPhase.LoggedIn, Header(KnownFrontendCode(), _random.Next(int.MinValue, 4)), 1),
                3 => new("length beyond 1 GB", FuzzPhase.LoggedIn, Header(KnownFrontendCode(), _random.Next((1 << 30) + 1, int.MaxValue)), 1),
                4 => new("random bytes after login", FuzzPhase.LoggedIn, [UnknownFrontendCode(), .. RandomBytes(0, 64)], 1),
                // Forwarded to the server as it arrives, then cut off: the proxy must drop that server, not reuse it.
                _ => new("message cut short", FuzzPhase.LoggedIn, [.. Header((byte)"QPBDE"[_random.Next(5)], _random.Next(64 * 1024, 8 << 20)), .. RandomBytes(0, 200)], 1),
            };
        }
    }

    private byte[] RandomBytes(int min, int max)
    {
        var bytes = new byte[_random.Next(min, max + 1)];
        _random.NextBytes(bytes);
        return bytes;
    }

    private byte RandomByte() => (byte)_random.Next(256);

    private byte UnknownFrontendCode()
    {
        while (true)
        {
            var code = RandomByte();
            if (Array.IndexOf(FrontendCodes, code) < 0)
            {
                return code;
            }
        }
    }

    private byte KnownFrontendCode() => FrontendCodes[_random.Next(FrontendCodes.Length)];

    private string Nonce() => Convert.ToBase64String(RandomBytes(18, 18));

    private byte[] ValidStartup() => Frames.Startup(("user", "fuzz" + _random.Next(1000)), ("database", "db"), ("application_name", "fuzz"));

    private byte[] StartupWithBadLength()
    {
        int[] lengths = [int.MinValue, -1, 0, 1, 4, 7, 10_001, 65_536, 1 << 20, 1 << 30, int.MaxValue, _random.Next(int.MinValue, 8), _random.Next(10_001, int.MaxValue)];
        var packet = ValidStartup();
        BinaryPrimitives.WriteInt32BigEndian(packet, lengths[_random.Next(lengths.Length)]);
        return packet;
    }

    private int RandomVersion()
    {
        while (true)
        {
            var code = _random.Next(int.MinValue, int.MaxValue);
            var major = (int)((uint)code >> 16);
            if (major is not 3 and not 1234)
            {
                return code;
            }
        }
    }

    private byte[] WithCode(int code)
    {
        var packet = new byte[_random.Next(8, 40)];
        _random.NextBytes(packet);
        BinaryPrimitives.WriteInt32BigEndian(packet, packet.Length);
        BinaryPrimitives.WriteInt32BigEndian(packet.AsSpan(4), code);
        return packet;
    }

    private byte[] StartupWithInvalidUtf8()
    {
        byte[][] invalid = [[0xFF], [0xC3, 0x28], [0xE2, 0x82], [0xF0, 0x28, 0x8C, 0xBC], [0xC0, 0xAF], [0xED, 0xA0, 0x80]];
        var bad = invalid[_random.Next(invalid.Length)];
        var body = new List<byte>();
        body.AddRange("user\0fuzz\0"u8.ToArray());
        if (_random.Next(2) == 0)
        {
            body.AddRange([.. "app"u8.ToArray(), .. bad, 0, .. "x"u8.ToArray(), 0]);
        }
        else
        {
            body.AddRange([.. "application_name\0"u8.ToArray(), .. bad, 0]);
        }

        body.Add(0);
        var packet = new byte[8 + body.Count];
        BinaryPrimitives.WriteInt32BigEndian(packet, packet.Length);
        BinaryPrimitives.WriteInt32BigEndian(packet.AsSpan(4), 3 << 16);
        body.CopyTo(packet, 8);
        return packet;
    }

    private static byte[] ManyParameters(int count) =>
        Frames.Startup([("user", "fuzz"), .. Enumerable.Range(0, count).Select(i => ("p" + i.ToString(System.Globalization.CultureInfo.InvariantCulture), ""))]);

    private byte[] CancelRequest()
    {
        var packet = new byte[16];
        BinaryPrimitives.WriteInt32BigEndian(packet, 16);
        BinaryPrimitives.WriteInt32BigEndian(packet.AsSpan(4), (1234 << 16) | 5678);
        BinaryPrimitives.WriteInt32BigEndian(packet.AsSpan(8), _random.Next());
        BinaryPrimitives.WriteInt32BigEndian(packet.AsSpan(12), _random.Next());
        return packet;
    }

    private static byte[] Header(byte code, int length)
    {
        var header = new byte[5];
        header[0] = code;
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(1), length);
        return header;
    }

    private byte[] RandomFrame(byte code, int minPayload, int maxPayload) => Frames.Message((char)code, RandomBytes(minPayload, maxPayload));

    private static byte[] SaslInitial(string mechanism, string clientFirst)
    {
        var data = Encoding.UTF8.GetBytes(clientFirst);
        var payload = new byte[mechanism.Length + 1 + 4 + data.Length];
        Encoding.ASCII.GetBytes(mechanism).CopyTo(payload, 0);
        BinaryPrimitives.WriteInt32BigEndian(payload.AsSpan(mechanism.Length + 1), data.Length);
        data.CopyTo(payload, mechanism.Length + 5);
        return Frames.Message('p', payload);
    }
}
