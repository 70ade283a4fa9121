using System.Buffers;
using System.Buffers.Binary;
using System.Text.Unicode;
using Sluice.Protocol.Framing;
using Sluice.Protocol.Internal;

namespace Sluice.Protocol.Startup;

/// <summary>
/// Reads the untyped first packet of a connection: StartupMessage, SSLRequest, GSSENCRequest or CancelRequest.
/// </summary>
public static class StartupPacketReader
{
    /// <summary>PostgreSQL itself caps a startup packet at 10,000 bytes.</summary>
    public const int DefaultMaxLength = 10_000;

    /// <summary>More parameters than this in one StartupMessage is refused (drivers send about a dozen).</summary>
    public const int MaxParameters = 1000;

    public const int SslRequestCode = (1234 << 16) | 5679;
    public const int GssEncRequestCode = (1234 << 16) | 5680;
    public const int CancelRequestCode = (1234 << 16) | 5678;

    private const int CancelRequestLength = 16;
    private const int NegotiationRequestLength = 8;
    private const string ProtocolOptionPrefix = "_pq_.";

    /// <summary>
    /// On Ok, <paramref name="buffer"/> is advanced past the packet. On NeedMoreData nothing is consumed.
    /// On Invalid, <paramref name="error"/> says why (declared length below 8 or above <paramref name="maxLength"/>,
    /// an unknown request code, a major version other than 3, a parameter without its terminator, a parameter name or
    /// value that is not valid UTF-8, no "user" parameter, a parameter given twice).
    /// The length and request code are checked as soon as their bytes are there, before waiting for the rest.
    /// After an SSLRequest or GSSENCRequest the caller must make sure the client sent nothing more before the
    /// handshake: bytes left in <paramref name="buffer"/> then are plaintext injected ahead of TLS (CVE-2021-23214).
    /// </summary>
    public static ReadStatus TryRead(ref ReadOnlySequence<byte> buffer, int maxLength, out StartupPacket? packet, out string? error)
    {
        packet = null;
        error = null;
        if (buffer.Length < 4)
        {
            return ReadStatus.NeedMoreData;
        }

        Span<byte> head = stackalloc byte[8];
        var headLength = (int)Math.Min(buffer.Length, head.Length);
        buffer.Slice(0, headLength).CopyTo(head);
        var length = BinaryPrimitives.ReadInt32BigEndian(head);
        if (length < 8 || length > maxLength)
        {
            error = $"invalid length of startup packet: {length} bytes (must be between 8 and {maxLength})";
            return ReadStatus.Invalid;
        }

        if (headLength == 8)
        {
            var code = BinaryPrimitives.ReadInt32BigEndian(head.Slice(4));
            error = CheckRequestCode(code, length);
            if (error is not null)
            {
                return ReadStatus.Invalid;
            }
        }

        if (buffer.Length < length)
        {
            return ReadStatus.NeedMoreData;
        }

        var packetBytes = buffer.Slice(0, length);
        ReadStatus status;
        if (packetBytes.IsSingleSegment)
        {
            status = Parse(packetBytes.FirstSpan, out packet, out error);
        }
        else
        {
            var rented = ArrayPool<byte>.Shared.Rent(length);
            try
            {
                packetBytes.CopyTo(rented);
                status = Parse(rented.AsSpan(0, length), out packet, out error);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }

        if (status == ReadStatus.Ok)
        {
            buffer = buffer.Slice(length);
        }

        return status;
    }

    private static string? CheckRequestCode(int code, int length)
    {
        var expectedLength = code switch
        {
            SslRequestCode or GssEncRequestCode => NegotiationRequestLength,
            CancelRequestCode => CancelRequestLength,
            _ => 0,
        };
        if (expectedLength != 0)
        {
            return length == expectedLength ? null : $"invalid length of {RequestName(code)}: {length} bytes (must be {expectedLength})";
        }

        var major = (int)((uint)code >> 16);
        var minor = code & 0xFFFF;
        if (major == 1234)
        {
            return $"unknown startup request code {major}.{minor}";
        }

        return major == 3 ? null : $"unsupported frontend protocol {major}.{minor}: server supports 3.0";
    }

    private static string RequestName(int code) => code switch
    {
        SslRequestCode => "SSLRequest",
        GssEncRequestCode => "GSSENCRequest",
        _ => "CancelRequest",
    };

    private static ReadStatus Parse(ReadOnlySpan<byte> bytes, out StartupPacket? packet, out string? error)
    {
        packet = null;
        var code = BinaryPrimitives.ReadInt32BigEndian(bytes.Slice(4));
        error = CheckRequestCode(code, bytes.Length);
        if (error is not null)
        {
            return ReadStatus.Invalid;
        }

        switch (code)
        {
            case SslRequestCode:
                packet = new StartupPacket { Kind = StartupPacketKind.SslRequest };
                return ReadStatus.Ok;
            case GssEncRequestCode:
                packet = new StartupPacket { Kind = StartupPacketKind.GssEncRequest };
                return ReadStatus.Ok;
            case CancelRequestCode:
                packet = new StartupPacket
                {
                    Kind = StartupPacketKind.CancelRequest,
                    CancelProcessId = BinaryPrimitives.ReadInt32BigEndian(bytes.Slice(8)),
                    CancelSecretKey = BinaryPrimitives.ReadInt32BigEndian(bytes.Slice(12)),
                };
                return ReadStatus.Ok;
            default:
                return ParseStartupMessage(bytes, code, out packet, out error);
        }
    }

    private static ReadStatus ParseStartupMessage(ReadOnlySpan<byte> bytes, int version, out StartupPacket? packet, out string? error)
    {
        packet = null;
        error = null;
        var parameters = new List<KeyValuePair<string, string>>();
        List<string>? options = null;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var rest = bytes.Slice(8);
        while (true)
        {
            var nameEnd = rest.IndexOf((byte)0);
            if (nameEnd < 0)
            {
                error = rest.IsEmpty
                    ? "invalid startup packet layout: missing the terminating zero byte"
                    : "invalid startup packet layout: a parameter name has no terminating zero byte";
                return ReadStatus.Invalid;
            }

            if (nameEnd == 0)
            {
                if (rest.Length != 1)
                {
                    error = "invalid startup packet layout: expected the terminating zero byte as the last byte";
                    return ReadStatus.Invalid;
                }

                break;
            }

            if (!TryDecode(rest.Slice(0, nameEnd), out var name))
            {
                error = "invalid startup packet: a parameter name is not valid UTF-8";
                return ReadStatus.Invalid;
            }

            rest = rest.Slice(nameEnd + 1);
            var valueEnd = rest.IndexOf((byte)0);
            if (valueEnd < 0)
            {
                error = $"invalid startup packet layout: the value of parameter \"{name}\" has no terminating zero byte";
                return ReadStatus.Invalid;
            }

            if (!TryDecode(rest.Slice(0, valueEnd), out var value))
            {
                error = $"invalid startup packet: the value of parameter \"{name}\" is not valid UTF-8";
                return ReadStatus.Invalid;
            }

            rest = rest.Slice(valueEnd + 1);
            if (!seen.Add(name))
            {
                error = $"invalid startup packet: parameter \"{name}\" is given more than once";
                return ReadStatus.Invalid;
            }

            if (seen.Count > MaxParameters)
            {
                error = $"invalid startup packet: more than {MaxParameters} parameters";
                return ReadStatus.Invalid;
            }

            if (name.StartsWith(ProtocolOptionPrefix, StringComparison.Ordinal))
            {
                (options ??= []).Add(name);
            }
            else
            {
                parameters.Add(new KeyValuePair<string, string>(name, value));
            }
        }

        packet = new StartupPacket
        {
            Kind = StartupPacketKind.Startup,
            ProtocolVersion = version,
            Parameters = parameters,
            ProtocolOptions = options ?? (IReadOnlyList<string>)[],
        };
        if (string.IsNullOrEmpty(packet.GetParameter("user")))
        {
            packet = null;
            error = "no PostgreSQL user name specified in startup packet";
            return ReadStatus.Invalid;
        }

        return ReadStatus.Ok;
    }

    private static bool TryDecode(ReadOnlySpan<byte> bytes, out string text)
    {
        if (!Utf8.IsValid(bytes))
        {
            text = "";
            return false;
        }

        text = ProtocolEncoding.Strict.GetString(bytes);
        return true;
    }
}
