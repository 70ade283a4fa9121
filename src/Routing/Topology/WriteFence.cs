namespace Sluice.Routing.Topology;

/// <summary>
/// A WAL position of a database's primary read after its first <see cref="CoveredWrites"/> write transactions through
/// the proxy had completed: each of them committed at or before <see cref="Position"/>, so a replica that replayed that
/// far shows all of them.
/// </summary>
/// <remarks>
/// The proxy numbers the write transactions of each database as they complete (1, 2, ...). A primary position read by
/// a query sent after write n completed covers writes 1..n: their commit records were inserted before the query ran.
/// This costs the write path one counter increment and no round trip.
/// </remarks>
public sealed record WriteFence(long CoveredWrites, Lsn Position)
{
    /// <summary>Covers nothing: before the first position is read.</summary>
    public static WriteFence None { get; } = new(0, Lsn.Zero);

    /// <summary>The fence that covers more writes; on a tie the later position. Fences only move forward.</summary>
    public static WriteFence Later(WriteFence current, WriteFence candidate)
    {
        ArgumentNullException.ThrowIfNull(current);
        ArgumentNullException.ThrowIfNull(candidate);
        if (candidate.CoveredWrites != current.CoveredWrites)
        {
            return candidate.CoveredWrites > current.CoveredWrites ? candidate : current;
        }

        return candidate.Position > current.Position ? candidate : current;
    }
}
