using System.Buffers;
using Sluice.Protocol.Framing;

namespace Sluice.Protocol.Startup;

/// <summary>
/// Reads the untyped first packet of a connection: StartupMessage, SSLRequest, GSSENCRequest or CancelRequest.
/// </summary>
public static class StartupPacketReader
{
    /// <summary>PostgreSQL itself caps a startup packet at 10,000 bytes.</summary>
    public const int DefaultMaxLength = 10_000;

    /// <summary>
    /// On Ok, <paramref name="buffer"/> is advanced past the packet. On NeedMoreData nothing is consumed.
    /// On Invalid, <paramref name="error"/> says why (declared length below 8 or above <paramref name="maxLength"/>,
    /// an unknown request code, a major version other than 3, a parameter without its terminator, a parameter name or
    /// value that is not valid UTF-8, no "user" parameter).
    /// </summary>
    public static ReadStatus TryRead(ref ReadOnlySequence<byte> buffer, int maxLength, out StartupPacket? packet, out string? error)
    {
        throw new NotImplementedException();
    }
}
