using Sluice.Routing.Topology;
using static Sluice.Routing.Tests.Topology.TopologyBuilder;

namespace Sluice.Routing.Tests.Topology;

public sealed class BalancingTests
{
    [Fact]
    public void Round_robin_takes_the_replicas_in_turn()
    {
        var topology = new TopologyBuilder(new TopologySettings { Balancing = ReplicaBalancing.RoundRobin }).Healthy();

        var picks = Enumerable.Range(0, 6).Select(_ => topology.Read().Server!.Name).ToList();

        Assert.Equal(3, picks.Count(p => p == Replica1));
        Assert.Equal(3, picks.Count(p => p == Replica2));
        Assert.All(picks.Zip(picks.Skip(1)), pair => Assert.NotEqual(pair.First, pair.Second));
    }

    [Fact]
    public void Round_robin_skips_a_replica_that_is_down()
    {
        var topology = new TopologyBuilder(new TopologySettings { Balancing = ReplicaBalancing.RoundRobin }).Healthy().Fails(Replica1);

        Assert.All(Enumerable.Range(0, 5), _ => Assert.Equal(Replica2, topology.Read().Server?.Name));
    }

    [Fact]
    public void Least_outstanding_picks_the_replica_with_fewer_running_transactions()
    {
        var topology = new TopologyBuilder(new TopologySettings { Balancing = ReplicaBalancing.LeastOutstanding }).Healthy();
        topology[Replica1].Node.Acquire();
        topology[Replica1].Node.Acquire();
        topology[Replica2].Node.Acquire();

        Assert.All(Enumerable.Range(0, 5), _ => Assert.Equal(Replica2, topology.Read().Server?.Name));

        topology[Replica1].Node.Release();
        topology[Replica1].Node.Release();

        Assert.All(Enumerable.Range(0, 5), _ => Assert.Equal(Replica1, topology.Read().Server?.Name));
    }

    [Fact]
    public void Least_outstanding_ties_take_turns()
    {
        var topology = new TopologyBuilder(new TopologySettings { Balancing = ReplicaBalancing.LeastOutstanding }).Healthy();

        var picks = Enumerable.Range(0, 30).Select(_ => topology.Read().Server!.Name).ToList();

        Assert.Contains(Replica1, picks);
        Assert.Contains(Replica2, picks);
        Assert.DoesNotContain(Primary, picks);
    }

    [Fact]
    public void Least_outstanding_spreads_concurrent_transactions_evenly()
    {
        var topology = new TopologyBuilder(new TopologySettings { Balancing = ReplicaBalancing.LeastOutstanding }).Healthy();

        for (var i = 0; i < 10; i++)
        {
            topology.Read().Server!.Acquire();
        }

        Assert.Equal(5, topology[Replica1].Node.Outstanding);
        Assert.Equal(5, topology[Replica2].Node.Outstanding);
    }

    [Fact]
    public void Random_picks_only_replicas_that_may_take_reads_and_reaches_each()
    {
        var topology = new TopologyBuilder(new TopologySettings { Balancing = ReplicaBalancing.Random },
            (5432, ConfiguredRole.Primary), (5433, ConfiguredRole.Replica), (5434, ConfiguredRole.Replica), (5435, ConfiguredRole.Replica)).Healthy();
        topology.Fails("127.0.0.1:5435");

        var picks = Enumerable.Range(0, 200).Select(_ => topology.Read().Server!.Name).ToHashSet();

        Assert.Equal([Replica1, Replica2], picks.Order());
    }

    [Fact]
    public void Release_pairs_with_acquire_and_never_goes_below_zero()
    {
        var node = new BackendNode("shop", "127.0.0.1", 5433);
        node.Acquire();
        node.Release();
        node.Release();

        Assert.Equal(0, node.Outstanding);
        node.Acquire();
        Assert.Equal(1, node.Outstanding);
    }
}
