using System.Buffers;

namespace Sluice.Proxy.Transport.Epoll;

/// <summary>
/// One rented array in a receive buffer chain. The array is rented when a receive needs room and returned as soon as
/// its bytes are consumed; the segment objects themselves are kept in a small per-thread cache, so a receive allocates
/// nothing once the threads that receive are warm.
/// </summary>
internal sealed class ReceiveSegment : ReadOnlySequenceSegment<byte>
{
    private const int CachedPerThread = 32;

    [ThreadStatic]
    private static Stack<ReceiveSegment>? t_cache;

    private byte[] _array = [];

    /// <summary>Bytes received into this segment so far (the segment's <see cref="ReadOnlySequenceSegment{T}.Memory"/>).</summary>
    public int Written { get; private set; }

    public Span<byte> Free => _array.AsSpan(Written);

    public ReceiveSegment? NextSegment => (ReceiveSegment?)Next;

    public static ReceiveSegment Rent(ArrayPool<byte> pool, int size, ReceiveSegment? previous)
    {
        var segment = t_cache is { Count: > 0 } cache ? cache.Pop() : new ReceiveSegment();
        segment._array = pool.Rent(size);
        segment.Written = 0;
        segment.Memory = ReadOnlyMemory<byte>.Empty;
        segment.Next = null;
        segment.RunningIndex = previous is null ? 0 : previous.RunningIndex + previous.Written;
        if (previous is not null)
        {
            previous.Next = segment;
        }

        return segment;
    }

    public void Advance(int count)
    {
        Written += count;
        Memory = _array.AsMemory(0, Written);
    }

    /// <summary>This segment becomes the last again (the one after it was returned unused).</summary>
    public void ClearNext() => Next = null;

    /// <summary>The array back to the pool, the segment to this thread's cache; returns the next segment.</summary>
    public ReceiveSegment? Return(ArrayPool<byte> pool)
    {
        var next = NextSegment;
        pool.Return(_array);
        _array = [];
        Written = 0;
        Memory = ReadOnlyMemory<byte>.Empty;
        Next = null;
        var cache = t_cache ??= new Stack<ReceiveSegment>(CachedPerThread);
        if (cache.Count < CachedPerThread)
        {
            cache.Push(this);
        }

        return next;
    }
}
