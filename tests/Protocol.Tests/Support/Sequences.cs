using System.Buffers;

namespace Sluice.Protocol.Tests.Support;

/// <summary>Builds <see cref="ReadOnlySequence{T}"/>s split into segments the way a socket might deliver them.</summary>
internal static class Sequences
{
    /// <summary>One segment per chunk, empty chunks included.</summary>
    public static ReadOnlySequence<byte> FromChunks(params byte[][] chunks)
    {
        if (chunks.Length == 1)
        {
            return new ReadOnlySequence<byte>(chunks[0]);
        }

        var first = new Segment(chunks[0], null);
        var last = first;
        for (var i = 1; i < chunks.Length; i++)
        {
            last = new Segment(chunks[i], last);
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    /// <summary>Cuts <paramref name="data"/> at the given ascending offsets.</summary>
    public static ReadOnlySequence<byte> Split(byte[] data, params int[] cuts)
    {
        var chunks = new byte[cuts.Length + 1][];
        var start = 0;
        for (var i = 0; i < cuts.Length; i++)
        {
            chunks[i] = data[start..cuts[i]];
            start = cuts[i];
        }

        chunks[^1] = data[start..];
        return FromChunks(chunks);
    }

    /// <summary>
    /// The data as one segment, cut in two at every offset (0 and Length included, giving an empty segment), and,
    /// for data up to <paramref name="threeWayLimit"/> bytes, cut in three at every pair of offsets.
    /// </summary>
    public static IEnumerable<ReadOnlySequence<byte>> AllSplits(byte[] data, int threeWayLimit = 48)
    {
        yield return new ReadOnlySequence<byte>(data);
        for (var i = 0; i <= data.Length; i++)
        {
            yield return Split(data, i);
        }

        if (data.Length <= threeWayLimit)
        {
            for (var i = 0; i <= data.Length; i++)
            {
                for (var j = i; j <= data.Length; j++)
                {
                    yield return Split(data, i, j);
                }
            }
        }
    }

    /// <summary>The data in segments of <paramref name="size"/> bytes.</summary>
    public static ReadOnlySequence<byte> Chunked(byte[] data, int size)
    {
        var chunks = new List<byte[]>();
        for (var i = 0; i < data.Length; i += size)
        {
            chunks.Add(data[i..Math.Min(data.Length, i + size)]);
        }

        return chunks.Count == 0 ? ReadOnlySequence<byte>.Empty : FromChunks([.. chunks]);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, Segment? previous)
        {
            Memory = memory;
            if (previous is not null)
            {
                RunningIndex = previous.RunningIndex + previous.Memory.Length;
                previous.Next = this;
            }
        }
    }
}
