using System.Buffers;

namespace Sluice.Protocol.Framing;

/// <summary>
/// Reads frame headers from a buffer however its bytes are split into segments. It never consumes payload
/// and never allocates: the caller decides to inspect the payload or to forward it in chunks.
/// </summary>
public static class FrameReader
{
    /// <summary>Default cap on a data message: 1 GB, as PostgreSQL's own MaxAllocSize.</summary>
    public const int DefaultMaxFrameLength = 1 << 30;

    /// <summary>
    /// Reads the header at the start of <paramref name="buffer"/> without consuming it.
    /// Invalid when the declared length is below 4 or above <paramref name="maxFrameLength"/>.
    /// </summary>
    public static ReadStatus TryReadHeader(in ReadOnlySequence<byte> buffer, int maxFrameLength, out FrameHeader header)
    {
        throw new NotImplementedException();
    }
}
