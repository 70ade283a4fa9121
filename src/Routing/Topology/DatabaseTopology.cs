using System.Collections.Immutable;

namespace Sluice.Routing.Topology;

/// <summary>
/// The servers of one database as known at one moment, and the decisions made from them: which server takes a write,
/// which takes a read. Immutable except for the balancing counters it shares with its successors.
/// </summary>
public sealed class DatabaseTopology
{
    private readonly TurnCounter _turns;

    internal DatabaseTopology(string name, ImmutableArray<ServerState> servers, TurnCounter turns)
    {
        Name = name;
        Servers = servers;
        _turns = turns;
    }

    public string Name { get; }

    /// <summary>In configuration order.</summary>
    public ImmutableArray<ServerState> Servers { get; }

    /// <summary>A new database (after a reload) with every server unchecked.</summary>
    public static DatabaseTopology Create(string name, IEnumerable<ServerState> servers)
    {
        ArgumentNullException.ThrowIfNull(name);
        return new DatabaseTopology(name, [.. servers], new TurnCounter());
    }

    public ServerState? Find(string server)
    {
        foreach (var state in Servers)
        {
            if (state.Name == server)
            {
                return state;
            }
        }

        return null;
    }

    /// <summary>How many usable servers are writable; more than one means fenced.</summary>
    public int WritableCount
    {
        get
        {
            var count = 0;
            foreach (var server in Servers)
            {
                if (server.IsWritable)
                {
                    count++;
                }
            }

            return count;
        }
    }

    public bool IsFenced => WritableCount > 1;

    /// <summary>The one usable writable server; null when there is none or more than one (fenced).</summary>
    public ServerState? Primary
    {
        get
        {
            ServerState? primary = null;
            foreach (var server in Servers)
            {
                if (server.IsWritable)
                {
                    if (primary is not null)
                    {
                        return null;
                    }

                    primary = server;
                }
            }

            return primary;
        }
    }

    /// <summary>A checked, up standby within the lag budget: one that may take reads.</summary>
    public static bool TakesReads(ServerState server, TimeSpan maxReplicaLag, Lsn? minLsn = null)
    {
        ArgumentNullException.ThrowIfNull(server);
        return server.Health == ServerHealth.Up
            && server.Role == ObservedRole.Replica
            && LagBudget.IsWithin(server, maxReplicaLag)
            && (minLsn is not { } floor || server.WalLsn is { } replayed && replayed >= floor);
    }

    /// <summary>
    /// Picks the server for a transaction. Write: the one writable server, else <see cref="SelectionStatus.NoPrimary"/>,
    /// or <see cref="SelectionStatus.Fenced"/> when several are. Read: a replica that is up, within the lag budget and
    /// (with <paramref name="minLsn"/>) has replayed at least that far, chosen by the balancing policy; else the
    /// primary as for a write.
    /// </summary>
    public ServerSelection Select(RouteKind route, TopologySettings settings, Lsn? minLsn = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var read = route == RouteKind.Read && settings.ReadWriteSplit;
        if (read && PickReplica(settings, minLsn) is { } replica)
        {
            return ServerSelection.Of(Name, replica);
        }

        var primary = SelectPrimary();
        if (primary.Succeeded || !read || minLsn is null)
        {
            return primary;
        }

        // No primary to read one's own writes from: a replica within budget still beats an error (reads keep going
        // to replicas without a primary), though it may not have replayed the client's last commit yet.
        return PickReplica(settings, null) is { } anyReplica ? ServerSelection.Of(Name, anyReplica) : primary;
    }

    /// <summary>
    /// Picks the server for a read that must find <paramref name="floor"/> replayed. A replica within the lag budget that
    /// replayed it; else, when <paramref name="mayWait"/> and some replica within budget might replay it soon, nothing
    /// yet (<see cref="ReadFloorOutcome.Wait"/>: ask again after fresher positions); else the primary; else, without a
    /// primary, any replica within budget (the floor cannot be guaranteed then).
    /// </summary>
    public ReadSelection SelectRead(TopologySettings settings, ReadFloor floor, bool mayWait)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (!settings.ReadWriteSplit || !floor.IsRequired)
        {
            return new ReadSelection(Select(RouteKind.Read, settings), ReadFloorOutcome.None);
        }

        if (floor.Position is { } position && PickReplica(settings, position) is { } replica)
        {
            return new ReadSelection(ServerSelection.Of(Name, replica), ReadFloorOutcome.Met);
        }

        if (PickReplica(settings, null) is not { } candidate)
        {
            // No replica within budget at all: the primary takes it as it would any read, floor or not.
            return new ReadSelection(SelectPrimary(), ReadFloorOutcome.None);
        }

        var primary = SelectPrimary();
        if (!primary.Succeeded)
        {
            // A pending floor needs the primary's position; a known one may still be replayed by a replica soon.
            return mayWait && !floor.IsPending
                ? new ReadSelection(default, ReadFloorOutcome.Wait)
                : new ReadSelection(ServerSelection.Of(Name, candidate), ReadFloorOutcome.Unguaranteed);
        }

        return mayWait ? new ReadSelection(default, ReadFloorOutcome.Wait) : new ReadSelection(primary, ReadFloorOutcome.FellBack);
    }

    /// <summary>
    /// Whether a fresh check of <paramref name="server"/> could let reads held to a database's writes go to a replica,
    /// given the <paramref name="writes"/> completed so far and the latest <paramref name="fence"/>: the primary's
    /// while some writes are not covered yet (its position will cover them), and each replica's within the lag budget
    /// that has not been seen to replay the fence's position.
    /// </summary>
    public static bool NeedsFresherPosition(ServerState server, TopologySettings settings, WriteFence fence, long writes)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(fence);
        if (!settings.ReadWriteSplit)
        {
            return false;
        }

        if (server.IsWritable)
        {
            return writes > fence.CoveredWrites;
        }

        return fence.CoveredWrites > 0
            && TakesReads(server, settings.MaxReplicaLag)
            && !(server.WalLsn is { } replayed && replayed >= fence.Position);
    }

    private ServerSelection SelectPrimary()
    {
        ServerState? primary = null;
        foreach (var server in Servers)
        {
            if (server.IsWritable)
            {
                if (primary is not null)
                {
                    return ServerSelection.Failed(SelectionStatus.Fenced, Name);
                }

                primary = server;
            }
        }

        return primary is null ? ServerSelection.Failed(SelectionStatus.NoPrimary, Name) : ServerSelection.Of(Name, primary);
    }

    /// <summary>A replica that may take reads, or null (no allocation: counts first, then walks to the chosen one).</summary>
    private ServerState? PickReplica(TopologySettings settings, Lsn? minLsn)
    {
        var servers = Servers;
        var maxLag = settings.MaxReplicaLag;
        var eligible = 0;
        foreach (var server in servers)
        {
            if (TakesReads(server, maxLag, minLsn))
            {
                eligible++;
            }
        }

        if (eligible == 0)
        {
            return null;
        }

        switch (settings.Balancing)
        {
            case ReplicaBalancing.LeastOutstanding:
            {
                // Start the scan at a rotating index so that ties (idle replicas) take turns instead of the first winning.
                var start = (int)(_turns.Next() % (uint)servers.Length);
                ServerState? best = null;
                for (var i = 0; i < servers.Length; i++)
                {
                    var server = servers[(start + i) % servers.Length];
                    if (TakesReads(server, maxLag, minLsn) && (best is null || server.Node.Outstanding < best.Node.Outstanding))
                    {
                        best = server;
                    }
                }

                return best;
            }

            case ReplicaBalancing.Random:
                return NthEligible(Random.Shared.Next(eligible), maxLag, minLsn);

            default:
                return NthEligible((int)(_turns.Next() % (uint)eligible), maxLag, minLsn);
        }
    }

    private ServerState? NthEligible(int n, TimeSpan maxLag, Lsn? minLsn)
    {
        foreach (var server in Servers)
        {
            if (TakesReads(server, maxLag, minLsn) && n-- == 0)
            {
                return server;
            }
        }

        return null;
    }

    /// <summary>This database with <paramref name="server"/> replaced by <paramref name="updated"/>.</summary>
    public DatabaseTopology With(ServerState server, ServerState updated)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(updated);
        return new DatabaseTopology(Name, Servers.Replace(server, updated, ReferenceEqualityComparer.Instance), _turns);
    }

    /// <summary>The same database with another server list, keeping the balancing counters (a reload).</summary>
    internal DatabaseTopology WithServers(ImmutableArray<ServerState> servers) => new(Name, servers, _turns);

    /// <summary>Takes turns between equal choices; shared by every snapshot of one database.</summary>
    internal sealed class TurnCounter
    {
        private uint _value;

        public uint Next() => Interlocked.Increment(ref _value);
    }
}
