using System.Buffers;

namespace Sluice.Proxy.Transport.Epoll;

/// <summary>
/// The bytes an <see cref="EpollPipeReader"/> has received and its reader not yet consumed: a chain of rented arrays
/// (<see cref="ReceiveSegment"/>), received into at the tail and consumed from the head. An array goes back to the
/// pool as soon as its bytes are consumed, and one rented for a receive that got nothing at once: an empty chain holds
/// no array. A struct inside the reader (no object of its own); only the reader's owner touches it.
/// </summary>
internal struct ReceiveChain
{
    /// <summary>Smallest array a receive gets.</summary>
    private const int ReceiveSize = 4096;

    private readonly ArrayPool<byte> _pool;
    private ReceiveSegment? _head;
    private int _headStart;
    private ReceiveSegment? _tail;
    private bool _examinedAll;

    public ReceiveChain(ArrayPool<byte> pool) => _pool = pool;

    public readonly bool IsEmpty => _head is null;

    /// <summary>Bytes the reader has not looked at yet (a read returns them without receiving).</summary>
    public readonly bool HasUnexamined => _head is not null && !_examinedAll;

    /// <summary>Returned to the reader: until its next AdvanceTo, nothing counts as examined.</summary>
    public void Returned() => _examinedAll = false;

    /// <summary>Room at the tail for a receive, renting an array when the tail has too little.</summary>
    public Span<byte> FreeSpace()
    {
        if (_tail is null || _tail.Free.Length < ReceiveSize / 4)
        {
            _tail = ReceiveSegment.Rent(_pool, ReceiveSize, _tail);
            _head ??= _tail;
        }

        return _tail.Free;
    }

    public readonly void Advance(int received) => _tail!.Advance(received);

    public readonly ReadOnlySequence<byte> Buffered() =>
        _head is null ? ReadOnlySequence<byte>.Empty : new ReadOnlySequence<byte>(_head, _headStart, _tail!, _tail!.Written);

    public void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        if (_head is null)
        {
            return;
        }

        // Examined to the end: the next read waits for new bytes instead of returning these again.
        _examinedAll = ReferenceEquals(examined.GetObject(), _tail) && examined.GetInteger() == _tail!.Written;

        var consumedSegment = (ReceiveSegment?)consumed.GetObject() ?? _head;
        while (!ReferenceEquals(_head, consumedSegment) && _head is not null)
        {
            _head = _head.Return(_pool);
        }

        _headStart = consumed.GetInteger();
        if (_head is not null && ReferenceEquals(_head, _tail) && _headStart == _tail.Written)
        {
            // Everything consumed: the array goes back now, not at the next receive.
            Release();
        }
    }

    /// <summary>An array rented for a receive that got nothing goes straight back: idle holds nothing.</summary>
    public void DropEmptyTail()
    {
        if (_tail is not { Written: 0 } empty)
        {
            return;
        }

        if (ReferenceEquals(_head, empty))
        {
            Release();
            return;
        }

        // The empty tail follows buffered segments: find the one before it.
        var previous = _head!;
        while (!ReferenceEquals(previous.NextSegment, empty))
        {
            previous = previous.NextSegment!;
        }

        empty.Return(_pool);
        previous.ClearNext();
        _tail = previous;
    }

    /// <summary>Every array back to the pool.</summary>
    public void Release()
    {
        var segment = _head;
        while (segment is not null)
        {
            segment = segment.Return(_pool);
        }

        _head = _tail = null;
        _headStart = 0;
    }
}
