using Sluice.Routing.Topology;
using static Sluice.Routing.Tests.Topology.TopologyBuilder;

namespace Sluice.Routing.Tests.Topology;

public sealed class ReadFloorTests
{
    [Theory]
    [InlineData(ReadConsistency.Causal, 9, 4, 9)]
    [InlineData(ReadConsistency.Causal, 0, 0, 0)]
    [InlineData(ReadConsistency.Session, 9, 4, 4)]
    [InlineData(ReadConsistency.Session, 9, 0, 0)]
    [InlineData(ReadConsistency.LagBudget, 9, 4, 0)]
    public void Causal_reads_cover_every_write_of_the_database_session_reads_their_own_and_lag_budget_none(
        ReadConsistency consistency, long databaseWrites, long sessionWrite, long expected)
    {
        Assert.Equal(expected, ReadFloor.WritesToCover(consistency, databaseWrites, sessionWrite));
    }

    [Fact]
    public void The_floor_is_the_fence_position_once_a_fence_covers_the_writes_and_pending_before()
    {
        var fence = new WriteFence(CoveredWrites: 5, new Lsn(0x5000));

        Assert.Equal(ReadFloor.At(new Lsn(0x5000)), ReadFloor.Covering(5, fence));
        Assert.Equal(ReadFloor.At(new Lsn(0x5000)), ReadFloor.Covering(3, fence));
        Assert.Equal(ReadFloor.Pending, ReadFloor.Covering(6, fence));
        Assert.True(ReadFloor.Covering(6, fence).IsPending);
        Assert.Equal(ReadFloor.None, ReadFloor.Covering(0, WriteFence.None));
        Assert.False(ReadFloor.Covering(0, fence).IsRequired);
    }

    [Fact]
    public void Fences_only_move_forward()
    {
        var covering3 = new WriteFence(3, new Lsn(0x3000));
        var covering4 = new WriteFence(4, new Lsn(0x2000));

        Assert.Same(covering4, WriteFence.Later(covering3, covering4));
        Assert.Same(covering4, WriteFence.Later(covering4, covering3));
        Assert.Equal(new Lsn(0x3500), WriteFence.Later(covering3, new WriteFence(3, new Lsn(0x3500))).Position);
        Assert.Same(covering3, WriteFence.Later(covering3, new WriteFence(3, new Lsn(0x2500))));
    }

    [Fact]
    public void A_replica_that_replayed_the_floor_takes_the_read()
    {
        var topology = new TopologyBuilder().Healthy().PrimaryAt(Primary, 0x2000).ReplicaAt(Replica1, 0x2000).ReplicaAt(Replica2, 0x1800);

        var read = topology.Snapshot.SelectRead(Database, ReadFloor.At(new Lsn(0x2000)), mayWait: true);

        Assert.Equal(ReadFloorOutcome.Met, read.Outcome);
        Assert.Equal(Replica1, read.Selection.Server?.Name);
    }

    [Fact]
    public void Below_the_floor_a_read_waits_while_it_may_and_then_goes_to_the_primary()
    {
        var topology = new TopologyBuilder().Healthy().PrimaryAt(Primary, 0x2000);

        var waiting = topology.Snapshot.SelectRead(Database, ReadFloor.At(new Lsn(0x2000)), mayWait: true);
        var fallback = topology.Snapshot.SelectRead(Database, ReadFloor.At(new Lsn(0x2000)), mayWait: false);

        Assert.True(waiting.MustWait);
        Assert.Null(waiting.Selection.Server);
        Assert.Equal(ReadFloorOutcome.FellBack, fallback.Outcome);
        Assert.Equal(Primary, fallback.Selection.Server?.Name);
    }

    [Fact]
    public void A_pending_floor_waits_for_a_primary_position_and_then_falls_back()
    {
        var topology = new TopologyBuilder().Healthy();

        Assert.True(topology.Snapshot.SelectRead(Database, ReadFloor.Pending, mayWait: true).MustWait);
        Assert.Equal(Primary, topology.Snapshot.SelectRead(Database, ReadFloor.Pending, mayWait: false).Selection.Server?.Name);
    }

    [Fact]
    public void No_floor_or_no_replica_within_budget_means_the_floor_plays_no_part()
    {
        var healthy = new TopologyBuilder().Healthy();
        var noReplica = new TopologyBuilder().Healthy().Fails(Replica1).Fails(Replica2);

        var free = healthy.Snapshot.SelectRead(Database, ReadFloor.None, mayWait: true);
        var primaryOnly = noReplica.Snapshot.SelectRead(Database, ReadFloor.At(new Lsn(0x9000)), mayWait: true);

        Assert.Equal(ReadFloorOutcome.None, free.Outcome);
        Assert.True(free.Selection.IsReplica);
        Assert.Equal(ReadFloorOutcome.None, primaryOnly.Outcome);
        Assert.Equal(Primary, primaryOnly.Selection.Server?.Name);
    }

    [Fact]
    public void Without_a_primary_a_pending_floor_cannot_be_learnt_and_reads_go_to_a_replica_unguaranteed()
    {
        var topology = new TopologyBuilder().Healthy().Fails(Primary);

        var pending = topology.Snapshot.SelectRead(Database, ReadFloor.Pending, mayWait: true);
        var known = topology.Snapshot.SelectRead(Database, ReadFloor.At(new Lsn(0x9000)), mayWait: true);
        var knownLate = topology.Snapshot.SelectRead(Database, ReadFloor.At(new Lsn(0x9000)), mayWait: false);

        Assert.Equal(ReadFloorOutcome.Unguaranteed, pending.Outcome);
        Assert.True(pending.Selection.IsReplica);
        Assert.True(known.MustWait);
        Assert.Equal(ReadFloorOutcome.Unguaranteed, knownLate.Outcome);
        Assert.True(knownLate.Selection.IsReplica);
    }

    [Fact]
    public void Uncovered_writes_need_the_primarys_position_and_a_fence_the_positions_of_replicas_behind_it()
    {
        var topology = new TopologyBuilder().Healthy().PrimaryAt(Primary, 0x2000).ReplicaAt(Replica1, 0x2000).ReplicaAt(Replica2, 0x1800);
        var settings = topology.Snapshot.Settings;
        var fence = new WriteFence(CoveredWrites: 4, new Lsn(0x2000));

        bool Needs(string server, WriteFence f, long writes) => DatabaseTopology.NeedsFresherPosition(topology[server], settings, f, writes);

        // Write 5 is not covered: the primary is asked; Replica2 has not replayed the fence, Replica1 has.
        Assert.True(Needs(Primary, fence, 5));
        Assert.False(Needs(Replica1, fence, 5));
        Assert.True(Needs(Replica2, fence, 5));

        // Everything covered: the primary is not asked again.
        Assert.False(Needs(Primary, fence, 4));

        // Before any fence there is no position for replicas to reach.
        Assert.True(Needs(Primary, WriteFence.None, 1));
        Assert.False(Needs(Replica2, WriteFence.None, 1));
        Assert.False(Needs(Primary, WriteFence.None, 0));
    }

    [Fact]
    public void Replicas_out_of_the_lag_budget_or_down_are_not_chased()
    {
        // Replica2 still at 0x1000 where the primary was 5 s ago: over the 1 s budget.
        var topology = new TopologyBuilder().Healthy().Advance(TimeSpan.FromSeconds(5)).PrimaryAt(Primary, 0x9000).Fails(Replica1).ReplicaAt(Replica2, 0x1000);
        var settings = topology.Snapshot.Settings;
        var fence = new WriteFence(CoveredWrites: 1, new Lsn(0x9000));

        Assert.True(topology[Replica2].Lag > settings.MaxReplicaLag);
        Assert.False(DatabaseTopology.NeedsFresherPosition(topology[Replica1], settings, fence, 1));
        Assert.False(DatabaseTopology.NeedsFresherPosition(topology[Replica2], settings, fence, 1));
        Assert.False(DatabaseTopology.NeedsFresherPosition(topology[Primary], settings with { ReadWriteSplit = false }, fence, 2));
    }

    [Fact]
    public void Read_write_split_off_ignores_the_floor()
    {
        var topology = new TopologyBuilder(new TopologySettings { ReadWriteSplit = false }).Healthy();

        var read = topology.Snapshot.SelectRead(Database, ReadFloor.Pending, mayWait: true);

        Assert.Equal(ReadFloorOutcome.None, read.Outcome);
        Assert.Equal(Primary, read.Selection.Server?.Name);
    }
}
