using System.Buffers;
using System.Buffers.Binary;
using BenchmarkDotNet.Attributes;
using Sluice.Protocol.Framing;

namespace Sluice.Benchmarks;

/// <summary>
/// Walks the headers of a buffer of small DataRow frames, as the server pump does for every read batch.
/// Multi-segment cases: 4 KiB segments (a pipe's default) and 7-byte segments, where most headers straddle a border.
/// Every case must allocate 0 bytes.
/// </summary>
[MemoryDiagnoser]
public class FrameReaderBenchmarks
{
    private const int FrameCount = 1000;

    private ReadOnlySequence<byte> _singleSegment;
    private ReadOnlySequence<byte> _pipeSegments;
    private ReadOnlySequence<byte> _tinySegments;

    [GlobalSetup]
    public void Setup()
    {
        var data = BuildDataRows();
        _singleSegment = new ReadOnlySequence<byte>(data);
        _pipeSegments = Segment.Chunk(data, 4096);
        _tinySegments = Segment.Chunk(data, 7);
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = FrameCount)]
    public int SingleSegment() => WalkHeaders(_singleSegment);

    [Benchmark(OperationsPerInvoke = FrameCount)]
    public int MultiSegment4KiB() => WalkHeaders(_pipeSegments);

    [Benchmark(OperationsPerInvoke = FrameCount)]
    public int MultiSegment7Bytes() => WalkHeaders(_tinySegments);

    private static int WalkHeaders(ReadOnlySequence<byte> buffer)
    {
        var count = 0;
        while (FrameReader.TryReadHeader(buffer, FrameReader.DefaultMaxFrameLength, out var header) == ReadStatus.Ok)
        {
            buffer = buffer.Slice(header.FrameLength);
            count++;
        }

        return count;
    }

    /// <summary>DataRows of (int4 as text, short text): the shape of a typical pgbench -S answer.</summary>
    internal static byte[] BuildDataRows()
    {
        const int payloadLength = 2 + 4 + 4 + 4 + 11;
        var data = new byte[FrameCount * (payloadLength + 5)];
        var span = data.AsSpan();
        for (var i = 0; i < FrameCount; i++)
        {
            span[0] = (byte)'D';
            BinaryPrimitives.WriteInt32BigEndian(span.Slice(1), payloadLength + 4);
            BinaryPrimitives.WriteInt16BigEndian(span.Slice(5), 2);
            BinaryPrimitives.WriteInt32BigEndian(span.Slice(7), 4);
            "1234"u8.CopyTo(span.Slice(11));
            BinaryPrimitives.WriteInt32BigEndian(span.Slice(15), 11);
            "hello world"u8.CopyTo(span.Slice(19));
            span = span.Slice(payloadLength + 5);
        }

        return data;
    }

    internal sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        private Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public static ReadOnlySequence<byte> Chunk(byte[] data, int size)
        {
            var first = new Segment(data.AsMemory(0, Math.Min(size, data.Length)), 0);
            var last = first;
            for (var start = size; start < data.Length; start += size)
            {
                var next = new Segment(data.AsMemory(start, Math.Min(size, data.Length - start)), start);
                last.Next = next;
                last = next;
            }

            return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
        }
    }
}
