using Sluice.Routing.Topology;

namespace Sluice.Proxy.Consistency;

/// <summary>
/// One database's write transactions through this proxy, counted as they complete, and the latest primary position
/// known to cover them (<see cref="WriteFence"/>): what causal and session reads are held to. Sessions count writes;
/// the health monitor raises the fence and signals every check of the database's servers, which waiting reads listen
/// for. Lock-free: one counter, one reference swapped forward, one signal replaced per check.
/// </summary>
internal sealed class WriteFloor
{
    private long _writes;
    private WriteFence _fence = WriteFence.None;
    private TaskCompletionSource _nextCheck = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Write transactions completed through this proxy so far.</summary>
    public long Writes => Volatile.Read(ref _writes);

    /// <summary>The latest primary position read after some number of writes had completed.</summary>
    public WriteFence Fence => Volatile.Read(ref _fence);

    /// <summary>Completes when the next check of one of the database's servers has been recorded.</summary>
    public Task NextCheck => Volatile.Read(ref _nextCheck).Task;

    /// <summary>
    /// A write transaction completed (its ReadyForQuery came back from the primary). Call before the client can see
    /// that ReadyForQuery, so that any read it starts afterwards finds this write counted. Returns the write's number.
    /// </summary>
    public long NoteWrite() => Interlocked.Increment(ref _writes);

    /// <summary>
    /// The primary was at <paramref name="position"/> by a query sent after <paramref name="coveredWrites"/> writes had
    /// completed. True when that covers more writes than the fence did: reads have a new floor.
    /// </summary>
    public bool Raise(long coveredWrites, Lsn position)
    {
        var candidate = new WriteFence(coveredWrites, position);
        while (true)
        {
            var current = Volatile.Read(ref _fence);
            var later = WriteFence.Later(current, candidate);
            if (ReferenceEquals(later, current))
            {
                return false;
            }

            if (ReferenceEquals(Interlocked.CompareExchange(ref _fence, later, current), current))
            {
                return later.CoveredWrites > current.CoveredWrites;
            }
        }
    }

    /// <summary>A check of one of the database's servers was recorded: wakes the reads waiting for fresher positions.</summary>
    public void Checked() =>
        Interlocked.Exchange(ref _nextCheck, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
}
