using System.Collections.Frozen;
using System.Collections.Immutable;

namespace Sluice.Routing.Topology;

/// <summary>A database and its servers as configured: the input of <see cref="TopologySnapshot.Create"/>.</summary>
public sealed record DatabaseLayout(string Name, ImmutableArray<ServerLayout> Servers);

/// <summary>One configured server.</summary>
public readonly record struct ServerLayout(string Host, int Port, ConfiguredRole Role)
{
    public string Name => BackendNode.NameOf(Host, Port);
}

/// <summary>
/// Every database's servers as known at one moment, with the settings to decide by. Immutable: each check or reload
/// makes a new snapshot, which the monitor swaps in with one atomic write; sessions read the current one without
/// locking and decide from it alone.
/// </summary>
public sealed class TopologySnapshot
{
    private readonly FrozenDictionary<string, int> _index;

    private TopologySnapshot(TopologySettings settings, ImmutableArray<DatabaseTopology> databases, FrozenDictionary<string, int> index)
    {
        Settings = settings;
        Databases = databases;
        _index = index;
    }

    public static TopologySnapshot Empty { get; } = new(new TopologySettings(), [], FrozenDictionary<string, int>.Empty);

    public TopologySettings Settings { get; }

    /// <summary>In configuration order.</summary>
    public ImmutableArray<DatabaseTopology> Databases { get; }

    /// <summary>
    /// A snapshot for a (re)loaded config. Servers that were in <paramref name="previous"/> (same database, same
    /// host:port) keep what was known of them and their outstanding-transaction counters; new ones start unchecked.
    /// A server listed twice in one database counts once.
    /// </summary>
    public static TopologySnapshot Create(TopologySettings settings, IEnumerable<DatabaseLayout> layout, TopologySnapshot? previous = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(layout);
        var databases = ImmutableArray.CreateBuilder<DatabaseTopology>();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var database in layout)
        {
            if (index.ContainsKey(database.Name))
            {
                continue;
            }

            var before = previous?.Find(database.Name);
            var servers = ImmutableArray.CreateBuilder<ServerState>(database.Servers.Length);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var server in database.Servers)
            {
                if (!seen.Add(server.Name))
                {
                    continue;
                }

                servers.Add(before?.Find(server.Name) is { } known
                    ? known with { ConfiguredRole = server.Role }
                    : ServerState.Initial(new BackendNode(database.Name, server.Host, server.Port), server.Role));
            }

            index[database.Name] = databases.Count;
            databases.Add(before is null ? DatabaseTopology.Create(database.Name, servers) : before.WithServers(servers.ToImmutable()));
        }

        return new TopologySnapshot(settings, databases.ToImmutable(), index.ToFrozenDictionary(StringComparer.Ordinal));
    }

    public DatabaseTopology? Find(string database) =>
        _index.TryGetValue(database, out var i) ? Databases[i] : null;

    /// <summary>
    /// The server for a transaction on <paramref name="database"/> (see <see cref="DatabaseTopology.Select"/>).
    /// <paramref name="minLsn"/> limits reads to replicas that replayed at least that far.
    /// </summary>
    public ServerSelection Select(string database, RouteKind route, Lsn? minLsn = null) =>
        Find(database) is { } topology ? topology.Select(route, Settings, minLsn) : ServerSelection.Failed(SelectionStatus.UnknownDatabase, database);

    /// <summary>The last write position read from the database's primary; null without one (or when fenced).</summary>
    public Lsn? PrimaryLsn(string database) => Find(database)?.Primary?.WalLsn;

    /// <summary>The server for a read on <paramref name="database"/> that must find <paramref name="floor"/> replayed (see <see cref="DatabaseTopology.SelectRead"/>).</summary>
    public ReadSelection SelectRead(string database, ReadFloor floor, bool mayWait) =>
        Find(database) is { } topology
            ? topology.SelectRead(Settings, floor, mayWait)
            : new ReadSelection(ServerSelection.Failed(SelectionStatus.UnknownDatabase, database), ReadFloorOutcome.None);

    /// <summary>A check of <paramref name="server"/> succeeded; this snapshot when the server is no longer in it.</summary>
    public TopologySnapshot RecordCheck(string database, string server, ServerProbe probe, DateTimeOffset at) =>
        Update(database, server, (state, topology) => ServerTransitions.Succeeded(state, probe, at, topology, Settings));

    /// <summary>A check of <paramref name="server"/> failed; this snapshot when the server is no longer in it.</summary>
    public TopologySnapshot RecordFailure(string database, string server, string error, DateTimeOffset at) =>
        Update(database, server, (state, _) => ServerTransitions.Failed(state, error, at, Settings));

    /// <summary>The proxy lost a connection to <paramref name="server"/> (see <see cref="ServerTransitions.Suspected"/>); this snapshot when nothing changes.</summary>
    public TopologySnapshot RecordSuspect(string database, string server, string error) =>
        Find(database)?.Find(server) is { Health: not ServerHealth.Down }
            ? Update(database, server, (state, _) => ServerTransitions.Suspected(state, error))
            : this;

    private TopologySnapshot Update(string database, string server, Func<ServerState, DatabaseTopology, ServerState> change)
    {
        if (!_index.TryGetValue(database, out var i) || Databases[i].Find(server) is not { } state)
        {
            return this;
        }

        var topology = Databases[i];
        return new TopologySnapshot(Settings, Databases.SetItem(i, topology.With(state, change(state, topology))), _index);
    }
}
