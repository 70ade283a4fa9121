namespace Sluice.Routing.Topology;

/// <summary>How a read's floor shaped where it goes.</summary>
public enum ReadFloorOutcome
{
    /// <summary>No floor applied (none was required, read_write_split is off, or no replica is within the lag budget).</summary>
    None,

    /// <summary>A replica that replayed the floor takes it.</summary>
    Met,

    /// <summary>No replica is known to have replayed the floor yet, but one within the lag budget may soon: wait and ask again.</summary>
    Wait,

    /// <summary>No replica replayed the floor in time: the primary takes it.</summary>
    FellBack,

    /// <summary>No primary: a replica within the lag budget takes it though it may not have replayed the floor.</summary>
    Unguaranteed,
}

/// <summary>The answer of <see cref="DatabaseTopology.SelectRead"/>: a server (none while <see cref="ReadFloorOutcome.Wait"/>) and why.</summary>
public readonly record struct ReadSelection(ServerSelection Selection, ReadFloorOutcome Outcome)
{
    public bool MustWait => Outcome == ReadFloorOutcome.Wait;
}
