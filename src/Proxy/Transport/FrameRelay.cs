using System.Buffers;
using Sluice.Protocol.Framing;

namespace Sluice.Proxy.Transport;

/// <summary>
/// The one frame relay: where one direction of a connection stands in its stream of frames, and the one place bytes of
/// a frame move. Every reader of frames uses it (the client loop, the server→client pump, a server's drain after its
/// client left, and the forwarding benchmark), each deciding per frame header what happens to that frame:
/// <list type="bullet">
/// <item>forward: <see cref="Forward"/>; the bytes go from their slice of the input sequence straight into the other
/// side's writer (the one copy per hop), as much as has arrived, the rest on later reads;</item>
/// <item>skip: <see cref="Skip"/>; the bytes are consumed and dropped;</item>
/// <item>inspect or answer locally: the caller waits until the frame is whole in the buffer, reads it, and then
/// forwards or skips it as above (or writes something else in its place).</item>
/// </list>
/// A mutable struct, owned by exactly one loop and passed by reference: no object, array or closure per frame.
/// </summary>
internal struct FrameRelay
{
    // Bytes of the current frame still to move, and whether they are dropped instead of copied.
    private long _remaining;
    private bool _skipping;

    /// <summary>True while a frame is partly moved.</summary>
    public readonly bool InFrame => _remaining > 0;

    /// <summary>True while a frame is partly copied to the other side (half a message went out).</summary>
    public readonly bool IsForwarding => _remaining > 0 && !_skipping;

    /// <summary>
    /// Moves the rest of the current frame (as much as has arrived), then reads the next frame's header without
    /// consuming it. NeedMoreData when the buffer ran out in the middle of a frame or of a header.
    /// </summary>
    public ReadStatus Next(ref ReadOnlySequence<byte> buffer, IBufferWriter<byte>? output, out FrameHeader header)
    {
        if (_remaining > 0 && !Move(ref buffer, output))
        {
            header = default;
            return ReadStatus.NeedMoreData;
        }

        return FrameReader.TryReadHeader(buffer, FrameReader.DefaultMaxFrameLength, out header);
    }

    /// <summary>The next <paramref name="length"/> bytes go to the other side (by <see cref="Move"/> or the next <see cref="Next"/>).</summary>
    public void Forward(long length)
    {
        _remaining = length;
        _skipping = false;
    }

    /// <summary>The next <paramref name="length"/> bytes are dropped.</summary>
    public void Skip(long length)
    {
        _remaining = length;
        _skipping = true;
    }

    /// <summary>Whatever of the current frame has not moved yet is dropped instead (its reader is gone).</summary>
    public void SkipRest() => _skipping = true;

    /// <summary>Moves as much of the current frame as the buffer holds; true when the frame is complete.</summary>
    public bool Move(ref ReadOnlySequence<byte> buffer, IBufferWriter<byte>? output)
    {
        var take = Math.Min(_remaining, buffer.Length);
        if (take > 0)
        {
            if (!_skipping)
            {
                foreach (var segment in buffer.Slice(0, take))
                {
                    output!.Write(segment.Span);
                }
            }

            buffer = buffer.Slice(take);
            _remaining -= take;
        }

        return _remaining == 0;
    }
}
