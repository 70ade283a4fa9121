using System.Buffers;
using Sluice.Protocol.Framing;
using Sluice.Protocol.Tests.Support;

namespace Sluice.Protocol.Tests;

public class FrameReaderTests
{
    [Fact]
    public void Reads_header_wherever_the_buffer_is_split()
    {
        var frame = new Bytes().Int16(1).Int32(3).Text("abc").ToMessage('D');
        foreach (var buffer in Sequences.AllSplits(frame))
        {
            var status = FrameReader.TryReadHeader(buffer, FrameReader.DefaultMaxFrameLength, out var header);

            Assert.Equal(ReadStatus.Ok, status);
            Assert.Equal((byte)'D', header.Code);
            Assert.Equal(13, header.Length);
            Assert.Equal(9, header.PayloadLength);
            Assert.Equal(frame.Length, header.FrameLength);
        }
    }

    [Fact]
    public void Reads_a_header_whose_frame_has_no_payload()
    {
        var frame = new Bytes().ToMessage('S');
        foreach (var buffer in Sequences.AllSplits(frame))
        {
            Assert.Equal(ReadStatus.Ok, FrameReader.TryReadHeader(buffer, FrameReader.DefaultMaxFrameLength, out var header));
            Assert.Equal(new FrameHeader((byte)'S', 4), header);
            Assert.Equal(0, header.PayloadLength);
        }
    }

    [Fact]
    public void Needs_more_data_until_five_bytes_are_there()
    {
        var frame = new Bytes().Byte('Z').Int32(5).Byte('I').ToArray();
        for (var available = 0; available < FrameHeader.Size; available++)
        {
            foreach (var buffer in Sequences.AllSplits(frame[..available]))
            {
                Assert.Equal(ReadStatus.NeedMoreData, FrameReader.TryReadHeader(buffer, FrameReader.DefaultMaxFrameLength, out _));
            }
        }
    }

    [Fact]
    public void Header_is_read_before_the_payload_arrives()
    {
        // A 1 MB DataRow: only the header is needed to decide what to do with it.
        var header = new Bytes().Byte('D').Int32(1 << 20).ToArray();
        foreach (var buffer in Sequences.AllSplits(header))
        {
            Assert.Equal(ReadStatus.Ok, FrameReader.TryReadHeader(buffer, FrameReader.DefaultMaxFrameLength, out var read));
            Assert.Equal(1 << 20, read.Length);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(-1)]
    [InlineData(-4)]
    [InlineData(int.MinValue)]
    [InlineData(FrameReader.DefaultMaxFrameLength + 1)]
    [InlineData(int.MaxValue)]
    public void Rejects_lengths_below_four_or_above_the_cap(int length)
    {
        var header = new Bytes().Byte('Q').Int32(length).ToArray();
        foreach (var buffer in Sequences.AllSplits(header))
        {
            var status = FrameReader.TryReadHeader(buffer, FrameReader.DefaultMaxFrameLength, out var read);

            Assert.Equal(ReadStatus.Invalid, status);
            Assert.Equal(length, read.Length);
            Assert.Equal((byte)'Q', read.Code);
        }
    }

    [Fact]
    public void Honours_a_smaller_cap()
    {
        var atCap = new Bytes().Byte('Q').Int32(8192).ToArray();
        var aboveCap = new Bytes().Byte('Q').Int32(8193).ToArray();

        Assert.Equal(ReadStatus.Ok, FrameReader.TryReadHeader(new ReadOnlySequence<byte>(atCap), 8192, out _));
        Assert.Equal(ReadStatus.Invalid, FrameReader.TryReadHeader(new ReadOnlySequence<byte>(aboveCap), 8192, out _));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(64)]
    public void Walks_a_stream_of_frames_in_small_segments(int segmentSize)
    {
        var stream = new List<byte>();
        var expected = new List<(char, int)>();
        for (var i = 0; i < 50; i++)
        {
            var code = "DCZTS"[i % 5];
            var payload = new byte[i % 13];
            stream.AddRange(new Bytes().Raw(payload).ToMessage(code));
            expected.Add((code, payload.Length + 4));
        }

        var buffer = Sequences.Chunked([.. stream], segmentSize);
        var actual = new List<(char, int)>();
        while (FrameReader.TryReadHeader(buffer, FrameReader.DefaultMaxFrameLength, out var header) == ReadStatus.Ok)
        {
            actual.Add(((char)header.Code, header.Length));
            buffer = buffer.Slice(header.FrameLength);
        }

        Assert.Equal(expected, actual);
        Assert.True(buffer.IsEmpty);
    }

    [Fact]
    public void Does_not_allocate()
    {
        var frame = new Bytes().Int16(1).Int32(3).Text("abc").ToMessage('D');
        var single = new ReadOnlySequence<byte>(frame);
        var split = Sequences.Split(frame, 2, 4);
        ReadHeaders(single, split, 10);

        var before = GC.GetAllocatedBytesForCurrentThread();
        var total = ReadHeaders(single, split, 10_000);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(20_000L * 13, total);
        Assert.Equal(0, allocated);
    }

    private static long ReadHeaders(ReadOnlySequence<byte> single, ReadOnlySequence<byte> split, int count)
    {
        long total = 0;
        for (var i = 0; i < count; i++)
        {
            FrameReader.TryReadHeader(single, FrameReader.DefaultMaxFrameLength, out var a);
            FrameReader.TryReadHeader(split, FrameReader.DefaultMaxFrameLength, out var b);
            total += a.Length + b.Length;
        }

        return total;
    }

    [Theory]
    [InlineData((byte)'Q', "'Q'")]
    [InlineData((byte)0, "0x00")]
    [InlineData((byte)' ', "0x20")]
    [InlineData((byte)0xFF, "0xFF")]
    public void A_type_byte_is_described_without_control_characters(byte code, string expected) =>
        Assert.Equal(expected, FrameHeader.Describe(code));
}
