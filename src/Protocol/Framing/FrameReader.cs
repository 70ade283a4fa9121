using System.Buffers;
using System.Buffers.Binary;

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
    /// Invalid when the declared length is below 4 or above <paramref name="maxFrameLength"/>; the header is
    /// still filled in then, so the caller can name the offending code and length.
    /// </summary>
    public static ReadStatus TryReadHeader(in ReadOnlySequence<byte> buffer, int maxFrameLength, out FrameHeader header)
    {
        byte code;
        int length;
        var first = buffer.FirstSpan;
        if (first.Length >= FrameHeader.Size)
        {
            // The common case: the header sits in one segment.
            code = first[0];
            length = BinaryPrimitives.ReadInt32BigEndian(first.Slice(1));
        }
        else
        {
            if (buffer.Length < FrameHeader.Size)
            {
                header = default;
                return ReadStatus.NeedMoreData;
            }

            Span<byte> bytes = stackalloc byte[FrameHeader.Size];
            buffer.Slice(0, FrameHeader.Size).CopyTo(bytes);
            code = bytes[0];
            length = BinaryPrimitives.ReadInt32BigEndian(bytes.Slice(1));
        }

        header = new FrameHeader(code, length);
        return length < 4 || length > maxFrameLength ? ReadStatus.Invalid : ReadStatus.Ok;
    }
}
