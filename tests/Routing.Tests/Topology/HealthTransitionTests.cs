using Sluice.Routing.Topology;
using static Sluice.Routing.Tests.Topology.TopologyBuilder;

namespace Sluice.Routing.Tests.Topology;

public sealed class HealthTransitionTests
{
    [Fact]
    public void A_failed_replica_is_banned_for_ban_time_and_the_ban_expires()
    {
        var topology = new TopologyBuilder().Healthy().Fails(Replica1, "connection refused");
        var replica = topology[Replica1];

        Assert.Equal(ServerHealth.Down, replica.Health);
        Assert.Equal("connection refused", replica.LastError);
        Assert.Equal(topology.Now.AddSeconds(10), replica.BannedUntil);
        Assert.True(replica.IsBanned(topology.Now.AddSeconds(9.9)));
        Assert.False(replica.IsBanned(topology.Now.AddSeconds(10)));
        Assert.Null(replica.Lag);
    }

    [Fact]
    public void A_banned_replica_gets_reads_again_after_a_successful_recheck_only()
    {
        var topology = new TopologyBuilder(servers: [(5432, ConfiguredRole.Primary), (5433, ConfiguredRole.Replica)]).Healthy().Fails(Replica1);
        topology.Advance(TimeSpan.FromSeconds(11));

        Assert.Equal(Primary, topology.Read().Server?.Name);

        topology.PrimaryAt(Primary, 0x1000).ReplicaAt(Replica1, 0x1000);

        Assert.Null(topology[Replica1].BannedUntil);
        Assert.Equal(ServerHealth.Up, topology[Replica1].Health);
        Assert.Equal(Replica1, topology.Read().Server?.Name);
    }

    [Fact]
    public void A_failing_recheck_bans_again()
    {
        var topology = new TopologyBuilder().Healthy().Fails(Replica1).Advance(TimeSpan.FromSeconds(11)).Fails(Replica1);

        Assert.Equal(topology.Now.AddSeconds(10), topology[Replica1].BannedUntil);
        Assert.Equal(3, topology[Replica1].Checks);
    }

    [Fact]
    public void The_primary_is_down_but_never_banned()
    {
        var topology = new TopologyBuilder().Healthy().Fails(Primary);

        Assert.Equal(ServerHealth.Down, topology[Primary].Health);
        Assert.Null(topology[Primary].BannedUntil);
        Assert.Equal(ObservedRole.Primary, topology[Primary].Role);

        topology.Advance(TimeSpan.FromSeconds(1)).PrimaryAt(Primary, 0x1000);

        Assert.Equal(Primary, topology.Write().Server?.Name);
    }

    [Fact]
    public void Zero_ban_time_bans_nobody()
    {
        var topology = new TopologyBuilder(new TopologySettings { BanTime = TimeSpan.Zero }).Healthy().Fails(Replica1);

        Assert.Null(topology[Replica1].BannedUntil);
        Assert.Equal(ServerHealth.Down, topology[Replica1].Health);
    }

    [Fact]
    public void Role_changes_follow_the_server()
    {
        var topology = new TopologyBuilder().Healthy();
        Assert.NotEmpty(topology[Primary].WalHistory);

        Assert.Equal(1, topology[Primary].RoleSinceCheck);
        topology.PrimaryAt(Primary, 0x1000).Fails(Primary).ReplicaAt(Primary, 0x1000);

        Assert.Equal(4, topology[Primary].RoleSinceCheck);
        Assert.Equal(ObservedRole.Replica, topology[Primary].Role);
        Assert.Empty(topology[Primary].WalHistory);
        Assert.Equal(0x1000UL, topology[Primary].WalLsn?.Value);
    }

    [Fact]
    public void Primary_history_is_bounded_by_count_and_window_and_keeps_distinct_positions()
    {
        var topology = new TopologyBuilder(new TopologySettings { WalHistoryLimit = 4, WalHistoryWindow = TimeSpan.FromSeconds(10) });
        for (var i = 1; i <= 10; i++)
        {
            topology.Advance(TimeSpan.FromSeconds(1)).PrimaryAt(Primary, (ulong)i * 0x100);
        }

        Assert.Equal([0x700UL, 0x800UL, 0x900UL, 0xA00UL], topology[Primary].WalHistory.Select(s => s.Lsn.Value));

        topology.Advance(TimeSpan.FromSeconds(1)).PrimaryAt(Primary, 0xA00);
        Assert.Equal(topology.Now, topology[Primary].WalHistory[^1].At);
        Assert.Equal(4, topology[Primary].WalHistory.Length);

        topology.Advance(TimeSpan.FromSeconds(30)).PrimaryAt(Primary, 0xB00);
        Assert.Equal([0xA00UL, 0xB00UL], topology[Primary].WalHistory.Select(s => s.Lsn.Value));

        topology.Advance(TimeSpan.FromSeconds(1)).PrimaryAt(Primary, 0x10);
        Assert.Equal([0x10UL], topology[Primary].WalHistory.Select(s => s.Lsn.Value));
    }

    [Fact]
    public void Reload_keeps_what_is_known_of_kept_servers_and_their_counters()
    {
        var topology = new TopologyBuilder().Healthy();
        var before = topology.Snapshot;
        var node = topology[Replica1].Node;
        node.Acquire();

        var after = TopologySnapshot.Create(
            new TopologySettings { MaxReplicaLag = TimeSpan.FromSeconds(5) },
            [
                new DatabaseLayout(Database, [new ServerLayout("127.0.0.1", 5432, ConfiguredRole.Auto), new ServerLayout("127.0.0.1", 5433, ConfiguredRole.Replica), new ServerLayout("127.0.0.1", 5436, ConfiguredRole.Replica)]),
                new DatabaseLayout("crm", [new ServerLayout("127.0.0.1", 5432, ConfiguredRole.Primary)]),
            ],
            before);

        var shop = after.Find(Database)!;
        Assert.Equal([Primary, Replica1, "127.0.0.1:5436"], shop.Servers.Select(s => s.Name));
        Assert.Same(node, shop.Find(Replica1)!.Node);
        Assert.Equal(1, shop.Find(Replica1)!.Node.Outstanding);
        Assert.Equal(ServerHealth.Up, shop.Find(Primary)!.Health);
        Assert.Equal(ConfiguredRole.Auto, shop.Find(Primary)!.ConfiguredRole);
        Assert.Equal(ServerHealth.Unknown, shop.Find("127.0.0.1:5436")!.Health);
        Assert.NotSame(shop.Find(Primary)!.Node, after.Find("crm")!.Find(Primary)!.Node);
        Assert.Equal(TimeSpan.FromSeconds(5), after.Settings.MaxReplicaLag);
        Assert.Same(after, after.RecordFailure(Database, Replica2, "removed by the reload", topology.Now));
    }

    [Fact]
    public void Snapshots_are_immutable_a_check_makes_a_new_one()
    {
        var topology = new TopologyBuilder().Healthy();
        var before = topology.Snapshot;

        topology.Fails(Replica1);

        Assert.Equal(ServerHealth.Up, before.Find(Database)!.Find(Replica1)!.Health);
        Assert.Equal(ServerHealth.Down, topology[Replica1].Health);
    }

    [Fact]
    public void A_suspected_primary_takes_no_writes_until_a_check_passes_and_suspicion_is_no_check()
    {
        var topology = new TopologyBuilder().Healthy();
        var checks = topology[Primary].Checks;
        var lastCheck = topology[Primary].LastCheckAt;

        var suspected = topology.Snapshot.RecordSuspect(Database, Primary, "terminating connection due to administrator command");
        var primary = suspected.Find(Database)!.Find(Primary)!;

        Assert.Equal(ServerHealth.Down, primary.Health);
        Assert.Equal("terminating connection due to administrator command", primary.LastError);
        Assert.Equal(checks, primary.Checks);
        Assert.Equal(lastCheck, primary.LastCheckAt);
        Assert.Null(primary.BannedUntil);
        Assert.Equal(SelectionStatus.NoPrimary, suspected.Select(Database, RouteKind.Write).Status);

        // A check that passes lifts it at once.
        var checkedAgain = suspected.RecordCheck(Database, Primary, ServerProbe.Primary(new Lsn(0x2000)), topology.Now);
        Assert.Equal(Primary, checkedAgain.Select(Database, RouteKind.Write).Server?.Name);
    }

    [Fact]
    public void A_suspected_replica_gets_no_reads_and_suspecting_a_down_or_unknown_server_changes_nothing()
    {
        var topology = new TopologyBuilder().Healthy();
        var suspected = topology.Snapshot.RecordSuspect(Database, Replica1, "connection reset");
        Assert.NotEqual(Replica1, suspected.Select(Database, RouteKind.Read).Server?.Name);
        Assert.NotEqual(Replica1, suspected.Select(Database, RouteKind.Read).Server?.Name);

        Assert.Same(suspected, suspected.RecordSuspect(Database, Replica1, "again"));
        Assert.Same(suspected, suspected.RecordSuspect(Database, "127.0.0.1:9999", "not configured"));
        Assert.Same(suspected, suspected.RecordSuspect("other", Primary, "not configured"));
    }
}
