namespace Sluice.Proxy.Transport.Epoll;

/// <summary>
/// Edge-triggered readiness of one direction of one socket, between the loop thread that reports edges and the one
/// consumer (the reader, or the writer) that uses them up. Edge-triggered epoll reports a change once; the consumer
/// owns "is there more?" and answers it itself: a receive or send that does not take all it asked for means the
/// socket is drained, so the consumer needs no extra probe ending in EAGAIN, as .NET's socket engine does before it
/// waits.
/// <para>
/// Edges are counted rather than flagged: the consumer notes the count before a receive and, when that receive drains
/// the socket, records that count as drained — an edge reported meanwhile keeps the socket "ready", so no edge is lost
/// between the receive and the decision to wait. A parked consumer is woken by whoever takes the parking flag from 1
/// to 0 (the loop on a new edge, an abort, a cancellation): exactly one of them.
/// </para>
/// </summary>
internal struct ReadinessSignal
{
    private int _edges;
    private int _drainedAt;
    private int _parked;
    private volatile bool _hungUp;

    /// <summary>True while an edge (or a hang-up, which stays) has come since the consumer last drained the socket.</summary>
    public readonly bool IsReady => _hungUp || Volatile.Read(in _edges) != _drainedAt;

    /// <summary>Consumer: the edge count to pass to <see cref="MarkDrained"/> if the receive or send about to run drains.</summary>
    public readonly int Snapshot() => Volatile.Read(in _edges);

    /// <summary>Consumer: the socket had no more to give (or no more room) as of <paramref name="snapshot"/>.</summary>
    public void MarkDrained(int snapshot) => _drainedAt = snapshot;

    /// <summary>
    /// Consumer: parks unless an edge came since the last drain. True when parked (someone will wake it); false when
    /// it must try again itself.
    /// </summary>
    public bool TryPark()
    {
        Interlocked.Exchange(ref _parked, 1);
        if (!IsReady)
        {
            return true;
        }

        // An edge came in between: take the parking back, unless the loop already took it to wake us.
        return Interlocked.Exchange(ref _parked, 0) == 0;
    }

    /// <summary>Loop: an edge. True when it took a parked consumer, which it must now serve.</summary>
    public bool Report(bool hungUp)
    {
        if (hungUp)
        {
            _hungUp = true;
        }

        Interlocked.Increment(ref _edges);
        return TryTakeParked();
    }

    /// <summary>Anyone: takes a parked consumer to wake it (with a result, an error or a cancellation).</summary>
    public bool TryTakeParked() => Interlocked.Exchange(ref _parked, 0) == 1;
}
