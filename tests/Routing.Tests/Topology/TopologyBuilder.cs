using Sluice.Routing.Topology;

namespace Sluice.Routing.Tests.Topology;

/// <summary>A snapshot of database "shop" on 127.0.0.1 ports, moved along by checks at a fake clock.</summary>
internal sealed class TopologyBuilder
{
    public const string Database = "shop";
    public const string Primary = "127.0.0.1:5432";
    public const string Replica1 = "127.0.0.1:5433";
    public const string Replica2 = "127.0.0.1:5434";

    public TopologyBuilder(TopologySettings? settings = null, params (int Port, ConfiguredRole Role)[] servers)
    {
        if (servers.Length == 0)
        {
            servers = [(5432, ConfiguredRole.Primary), (5433, ConfiguredRole.Replica), (5434, ConfiguredRole.Replica)];
        }

        Snapshot = TopologySnapshot.Create(
            settings ?? new TopologySettings { MaxReplicaLag = TimeSpan.FromSeconds(1), BanTime = TimeSpan.FromSeconds(10) },
            [new DatabaseLayout(Database, [.. servers.Select(s => new ServerLayout("127.0.0.1", s.Port, s.Role))])]);
    }

    public TopologySnapshot Snapshot { get; private set; }

    public DateTimeOffset Now { get; private set; } = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);

    public DatabaseTopology Topology => Snapshot.Find(Database)!;

    public ServerState this[string server] => Topology.Find(server)!;

    public TopologyBuilder Advance(TimeSpan by)
    {
        Now += by;
        return this;
    }

    public TopologyBuilder PrimaryAt(string server, ulong lsn)
    {
        Snapshot = Snapshot.RecordCheck(Database, server, ServerProbe.Primary(new Lsn(lsn)), Now);
        return this;
    }

    public TopologyBuilder ReplicaAt(string server, ulong replayed, TimeSpan? replayAge = null)
    {
        Snapshot = Snapshot.RecordCheck(Database, server, ServerProbe.Replica(new Lsn(replayed), new Lsn(replayed), replayAge), Now);
        return this;
    }

    public TopologyBuilder Fails(string server, string error = "connection refused")
    {
        Snapshot = Snapshot.RecordFailure(Database, server, error, Now);
        return this;
    }

    /// <summary>Primary at 0x1000 and both replicas caught up.</summary>
    public TopologyBuilder Healthy() => PrimaryAt(Primary, 0x1000).ReplicaAt(Replica1, 0x1000).ReplicaAt(Replica2, 0x1000);

    public ServerSelection Read(Lsn? minLsn = null) => Snapshot.Select(Database, RouteKind.Read, minLsn);

    public ServerSelection Write() => Snapshot.Select(Database, RouteKind.Write);
}
