using System.Buffers;

namespace Sluice.Proxy.Transport;

/// <summary>
/// The one copy per hop (DESIGN.md): bytes of a frame go from their slice of the input sequence straight into the
/// other side's writer, as much as has arrived, with no per-message object or array.
/// </summary>
internal static class FrameCopier
{
    /// <summary>Copies up to <paramref name="remaining"/> bytes from the front of the buffer; true when the frame is complete.</summary>
    public static bool CopyChunk(ref ReadOnlySequence<byte> buffer, ref long remaining, IBufferWriter<byte> output)
    {
        var take = Math.Min(remaining, buffer.Length);
        if (take == 0)
        {
            return false;
        }

        var chunk = buffer.Slice(0, take);
        foreach (var segment in chunk)
        {
            output.Write(segment.Span);
        }

        buffer = buffer.Slice(take);
        remaining -= take;
        return remaining == 0;
    }
}
