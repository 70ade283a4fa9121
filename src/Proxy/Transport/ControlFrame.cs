using System.Buffers;
using System.IO.Pipelines;
using Sluice.Protocol;
using Sluice.Protocol.Framing;

namespace Sluice.Proxy.Transport;

/// <summary>
/// A whole message copied out of a pipe, for the control path only (logins, health checks, the few queries the proxy
/// runs itself). The data path never uses it: it forwards slices without copying them into objects.
/// </summary>
internal readonly record struct ControlFrame(byte Code, byte[] Payload)
{
    public ReadOnlySequence<byte> PayloadSequence => new(Payload);

    /// <summary>
    /// Reads the next whole message. Throws <see cref="ProtocolViolationException"/> for a bad or oversized length and
    /// <see cref="EndOfStreamException"/> when the peer closed.
    /// </summary>
    public static async ValueTask<ControlFrame> ReadAsync(PipeReader reader, int maxLength, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            var status = FrameReader.TryReadHeader(buffer, maxLength, out var header);
            if (status == ReadStatus.Invalid)
            {
                reader.AdvanceTo(buffer.Start);
                throw new ProtocolViolationException($"invalid message length {header.Length} for message type {FrameHeader.Describe(header.Code)}");
            }

            if (status == ReadStatus.Ok && buffer.Length >= header.FrameLength)
            {
                var payload = buffer.Slice(FrameHeader.Size, header.PayloadLength).ToArray();
                reader.AdvanceTo(buffer.GetPosition(header.FrameLength));
                return new ControlFrame(header.Code, payload);
            }

            if (result.IsCanceled)
            {
                // A pump that had this server before may have asked to stop its read just as it finished: not for us.
                reader.AdvanceTo(buffer.Start);
                continue;
            }

            if (result.IsCompleted)
            {
                reader.AdvanceTo(buffer.Start, buffer.End);
                throw new EndOfStreamException("the connection was closed");
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }
}
