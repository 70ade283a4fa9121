using Sluice.Routing.Topology;
using static Sluice.Routing.Tests.Topology.TopologyBuilder;

namespace Sluice.Routing.Tests.Topology;

public sealed class SelectionTests
{
    [Fact]
    public void Writes_go_to_the_primary_and_reads_to_a_replica()
    {
        var topology = new TopologyBuilder().Healthy();

        Assert.Equal(Primary, topology.Write().Server?.Name);
        Assert.Equal(ObservedRole.Primary, topology.Write().Role);
        var read = topology.Read();
        Assert.True(read.IsReplica);
        Assert.Contains(read.Server?.Name, new[] { Replica1, Replica2 });
    }

    [Fact]
    public void A_replica_over_the_lag_budget_gets_no_reads_until_it_is_back_within_it()
    {
        var topology = new TopologyBuilder(servers: [(5432, ConfiguredRole.Primary), (5433, ConfiguredRole.Replica)]).Healthy();
        topology.Advance(TimeSpan.FromMilliseconds(100)).PrimaryAt(Primary, 0x9000).Advance(TimeSpan.FromSeconds(2)).PrimaryAt(Primary, 0x9500);
        topology.ReplicaAt(Replica1, 0x1000, replayAge: TimeSpan.FromSeconds(30));

        Assert.Equal(TimeSpan.FromSeconds(2.1), topology[Replica1].Lag);
        Assert.Equal(Primary, topology.Read().Server?.Name);

        topology.Advance(TimeSpan.FromMilliseconds(250)).ReplicaAt(Replica1, 0x9500, replayAge: TimeSpan.FromSeconds(1));

        Assert.Equal(TimeSpan.Zero, topology[Replica1].Lag);
        Assert.Equal(Replica1, topology.Read().Server?.Name);
    }

    [Fact]
    public void Reads_go_to_the_primary_when_no_replica_is_within_budget_or_up()
    {
        var topology = new TopologyBuilder().Healthy().Fails(Replica1).Advance(TimeSpan.FromSeconds(1)).PrimaryAt(Primary, 0x8000);
        topology.Advance(TimeSpan.FromSeconds(2)).ReplicaAt(Replica2, 0x1000);

        var read = topology.Read();

        Assert.Equal(Primary, read.Server?.Name);
        Assert.False(read.IsReplica);
    }

    [Fact]
    public void Without_a_primary_writes_fail_and_reads_keep_going_to_replicas()
    {
        var topology = new TopologyBuilder().Healthy().Fails(Primary);

        var write = topology.Write();

        Assert.Equal(SelectionStatus.NoPrimary, write.Status);
        Assert.Null(write.Server);
        Assert.Equal("no writable primary for database \"shop\"", write.FailureMessage);
        Assert.True(topology.Read().IsReplica);
    }

    [Fact]
    public void Without_a_primary_or_a_replica_reads_fail_too()
    {
        var topology = new TopologyBuilder().Healthy().Fails(Primary).Fails(Replica1).Fails(Replica2);

        Assert.Equal(SelectionStatus.NoPrimary, topology.Read().Status);
    }

    [Fact]
    public void Two_writable_servers_fence_writes_and_reads_stay_on_replicas()
    {
        var topology = new TopologyBuilder().Healthy().PrimaryAt(Replica1, 0x2000);

        var write = topology.Write();

        Assert.Equal(SelectionStatus.Fenced, write.Status);
        Assert.Contains("split brain", write.FailureMessage, StringComparison.Ordinal);
        Assert.True(topology.Topology.IsFenced);
        Assert.Null(topology.Topology.Primary);
        Assert.Equal(Replica2, topology.Read().Server?.Name);
    }

    [Fact]
    public void Fencing_ends_when_one_of_the_writable_servers_is_a_standby_again_or_down()
    {
        var topology = new TopologyBuilder().Healthy().PrimaryAt(Replica1, 0x2000);
        Assert.Equal(SelectionStatus.Fenced, topology.Write().Status);

        topology.Fails(Primary);
        Assert.Equal(Replica1, topology.Write().Server?.Name);

        topology.PrimaryAt(Primary, 0x3000);
        Assert.Equal(SelectionStatus.Fenced, topology.Write().Status);

        topology.ReplicaAt(Primary, 0x2000);
        Assert.Equal(Replica1, topology.Write().Server?.Name);
    }

    [Fact]
    public void Fenced_reads_without_a_replica_fail_rather_than_pick_a_side()
    {
        var topology = new TopologyBuilder(servers: [(5432, ConfiguredRole.Primary), (5433, ConfiguredRole.Replica)])
            .PrimaryAt(Primary, 0x1000).PrimaryAt(Replica1, 0x2000);

        Assert.Equal(SelectionStatus.Fenced, topology.Read().Status);
    }

    [Fact]
    public void A_promoted_replica_becomes_the_primary_whatever_its_configured_role()
    {
        var topology = new TopologyBuilder().Healthy().Fails(Primary).PrimaryAt(Replica1, 0x2000);

        Assert.Equal(Replica1, topology.Write().Server?.Name);
        Assert.Equal(ObservedRole.Primary, topology[Replica1].Role);
        Assert.Equal(ConfiguredRole.Replica, topology[Replica1].ConfiguredRole);
    }

    [Fact]
    public void A_configured_primary_that_is_in_recovery_is_a_replica_and_never_gets_writes()
    {
        var topology = new TopologyBuilder(servers: [(5432, ConfiguredRole.Primary), (5433, ConfiguredRole.Replica)])
            .ReplicaAt(Primary, 0x1000).ReplicaAt(Replica1, 0x1000);

        Assert.Equal(SelectionStatus.NoPrimary, topology.Write().Status);
        Assert.Equal(ObservedRole.Replica, topology[Primary].Role);
        Assert.True(topology.Read().IsReplica);
    }

    [Fact]
    public void Auto_servers_take_the_role_their_check_reports()
    {
        var topology = new TopologyBuilder(servers: [(5432, ConfiguredRole.Auto), (5433, ConfiguredRole.Auto)]);
        Assert.Equal(SelectionStatus.NoPrimary, topology.Write().Status);

        topology.ReplicaAt(Primary, 0x1000).PrimaryAt(Replica1, 0x1000);

        Assert.Equal(Replica1, topology.Write().Server?.Name);
        Assert.Equal(Primary, topology.Read().Server?.Name);
    }

    [Fact]
    public void Before_the_first_check_the_configured_primary_takes_writes_and_unchecked_replicas_take_no_reads()
    {
        var topology = new TopologyBuilder();

        Assert.Equal(Primary, topology.Write().Server?.Name);
        Assert.Equal(Primary, topology.Read().Server?.Name);
        Assert.Equal(ServerHealth.Unknown, topology[Replica1].Health);
    }

    [Fact]
    public void Read_write_split_off_sends_reads_to_the_primary()
    {
        var topology = new TopologyBuilder(new TopologySettings { ReadWriteSplit = false }).Healthy();

        Assert.Equal(Primary, topology.Read().Server?.Name);
    }

    [Fact]
    public void Read_your_writes_floor_keeps_reads_off_replicas_that_have_not_replayed_it()
    {
        var topology = new TopologyBuilder().Healthy().PrimaryAt(Primary, 0x2000).ReplicaAt(Replica1, 0x2000);

        Assert.Equal(Replica1, topology.Read(new Lsn(0x2000)).Server?.Name);
        Assert.Equal(Replica1, topology.Read(new Lsn(0x1800)).Server?.Name);
        Assert.Equal(Primary, topology.Read(new Lsn(0x2001)).Server?.Name);
        Assert.Equal(Primary, topology.Read(Lsn.MaxValue).Server?.Name);
    }

    [Fact]
    public void Read_your_writes_without_a_primary_falls_back_to_a_replica_within_budget()
    {
        var topology = new TopologyBuilder().Healthy().Fails(Primary);

        Assert.True(topology.Read(Lsn.MaxValue).IsReplica);
    }

    [Fact]
    public void Unknown_database_is_a_failure_not_an_exception()
    {
        var selection = new TopologyBuilder().Snapshot.Select("nope", RouteKind.Write);

        Assert.Equal(SelectionStatus.UnknownDatabase, selection.Status);
        Assert.False(selection.Succeeded);
    }
}
