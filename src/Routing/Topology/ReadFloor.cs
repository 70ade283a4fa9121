namespace Sluice.Routing.Topology;

/// <summary>
/// The WAL position a replica must have replayed before it may take a read: none, a known position, or pending (writes
/// the read must see are not covered by any primary position read so far).
/// </summary>
public readonly record struct ReadFloor
{
    private ReadFloor(bool required, Lsn? position)
    {
        IsRequired = required;
        Position = position;
    }

    /// <summary>Any replica within the lag budget will do.</summary>
    public static ReadFloor None => default;

    /// <summary>A replica must have replayed the writes, but where they ended is not known yet.</summary>
    public static ReadFloor Pending => new(true, null);

    public bool IsRequired { get; }

    /// <summary>The position to have replayed; null when none is required or it is still pending.</summary>
    public Lsn? Position { get; }

    public bool IsPending => IsRequired && Position is null;

    public static ReadFloor At(Lsn position) => new(true, position);

    /// <summary>
    /// How many of a database's writes a read must see, by their numbers: causal, every write completed so far
    /// (<paramref name="databaseWrites"/>); session, up to the client's own last one (<paramref name="sessionWrite"/>,
    /// 0 for none); lag_budget, none.
    /// </summary>
    public static long WritesToCover(ReadConsistency consistency, long databaseWrites, long sessionWrite) => consistency switch
    {
        ReadConsistency.Causal => databaseWrites,
        ReadConsistency.Session => sessionWrite,
        _ => 0,
    };

    /// <summary>The floor of a read that must see writes 1..<paramref name="writes"/>, given the latest <paramref name="fence"/>.</summary>
    public static ReadFloor Covering(long writes, WriteFence fence)
    {
        ArgumentNullException.ThrowIfNull(fence);
        if (writes <= 0)
        {
            return None;
        }

        return fence.CoveredWrites >= writes ? At(fence.Position) : Pending;
    }

    public override string ToString() => !IsRequired ? "none" : Position is { } position ? position.ToString() : "pending";
}
