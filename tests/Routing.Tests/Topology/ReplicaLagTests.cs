using System.Collections.Immutable;
using Sluice.Routing.Topology;

namespace Sluice.Routing.Tests.Topology;

public sealed class ReplicaLagTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Replica_that_replayed_everything_is_caught_up_even_when_its_last_transaction_is_old()
    {
        // An idle primary: the last commit was an hour ago, nothing written since.
        var history = History((T0, 0x5000), (T0.AddSeconds(1), 0x5000));

        var lag = ReplicaLag.Measure(history, ServerProbe.Replica(new Lsn(0x5000), new Lsn(0x5000), TimeSpan.FromHours(1)), T0.AddSeconds(1.1));

        Assert.Equal(ReplicaLag.CaughtUp, lag);
    }

    [Fact]
    public void Replica_read_after_a_newer_primary_position_is_not_behind()
    {
        var lag = ReplicaLag.Measure(History((T0, 0x5000)), ServerProbe.Replica(new Lsn(0x6000), null, TimeSpan.FromHours(1)), T0);

        Assert.Equal(ReplicaLag.CaughtUp, lag);
    }

    [Fact]
    public void A_few_bytes_behind_an_idle_primary_is_milliseconds_not_the_age_of_the_last_commit()
    {
        // The primary sat at 0x5000 for hours, then wrote a small record just before the replica was checked.
        var history = History((T0, 0x5000), (T0.AddHours(3), 0x5000), (T0.AddHours(3).AddMilliseconds(250), 0x5060));

        var lag = ReplicaLag.Measure(history, ServerProbe.Replica(new Lsn(0x5000), new Lsn(0x5060), TimeSpan.FromHours(3)), T0.AddHours(3).AddMilliseconds(260));

        Assert.Equal(0x60, lag.Bytes);
        Assert.Equal(TimeSpan.FromMilliseconds(260), lag.Time);
    }

    [Fact]
    public void Paused_replay_lag_grows_from_when_the_primary_left_the_replayed_position()
    {
        var history = History((T0, 0x1000), (T0.AddSeconds(1), 0x1000), (T0.AddSeconds(2), 0x9000), (T0.AddSeconds(3), 0xA000));
        var replica = ServerProbe.Replica(new Lsn(0x1000), new Lsn(0xA000), TimeSpan.FromMinutes(5));

        Assert.Equal(new ReplicaLag(0x9000, TimeSpan.FromSeconds(2)), ReplicaLag.Measure(history, replica, T0.AddSeconds(3)));
        Assert.Equal(new ReplicaLag(0x9000, TimeSpan.FromSeconds(9)), ReplicaLag.Measure(history, replica, T0.AddSeconds(10)));
    }

    [Fact]
    public void Replay_age_caps_the_lag_when_it_is_the_tighter_bound()
    {
        var history = History((T0, 0x1000), (T0.AddSeconds(10), 0x9000));

        var lag = ReplicaLag.Measure(history, ServerProbe.Replica(new Lsn(0x1000), null, TimeSpan.FromSeconds(4)), T0.AddSeconds(10));

        Assert.Equal(TimeSpan.FromSeconds(4), lag.Time);
    }

    [Fact]
    public void Behind_all_the_history_uses_the_replay_age_or_else_the_oldest_sample()
    {
        var history = History((T0, 0x9000), (T0.AddSeconds(1), 0xA000));

        Assert.Equal(TimeSpan.FromSeconds(30), ReplicaLag.Measure(history, ServerProbe.Replica(new Lsn(0x1000), null, TimeSpan.FromSeconds(30)), T0.AddSeconds(2)).Time);
        Assert.Equal(TimeSpan.FromSeconds(2), ReplicaLag.Measure(history, ServerProbe.Replica(new Lsn(0x1000)), T0.AddSeconds(2)).Time);
    }

    [Fact]
    public void Behind_the_primarys_first_sample_the_lag_is_that_samples_age_not_the_age_of_the_last_commit()
    {
        // The monitor just started: one primary sample, a replica 64 bytes behind it whose last commit is 12.8 s old.
        var replica = ServerProbe.Replica(new Lsn(0x50A0), new Lsn(0x50E0), TimeSpan.FromSeconds(12.8));

        Assert.Equal(new ReplicaLag(0x40, TimeSpan.FromMilliseconds(100)), ReplicaLag.Measure(History((T0, 0x50E0)), replica, T0.AddMilliseconds(100)));

        // The primary's next sample tells: the replica replayed past the first one, so it is at most that far behind.
        var later = ServerProbe.Replica(new Lsn(0x50E0), new Lsn(0x5100), TimeSpan.FromSeconds(13));
        Assert.Equal(new ReplicaLag(0x20, TimeSpan.FromMilliseconds(260)), ReplicaLag.Measure(History((T0, 0x50E0), (T0.AddMilliseconds(250), 0x5100)), later, T0.AddMilliseconds(260)));
    }

    [Fact]
    public void Without_a_primary_a_replica_is_measured_against_what_it_received()
    {
        Assert.Equal(ReplicaLag.CaughtUp, ReplicaLag.Measure([], ServerProbe.Replica(new Lsn(0x7000), new Lsn(0x7000), TimeSpan.FromHours(2)), T0));
        Assert.Equal(new ReplicaLag(0x1000, TimeSpan.FromSeconds(3)), ReplicaLag.Measure([], ServerProbe.Replica(new Lsn(0x6000), new Lsn(0x7000), TimeSpan.FromSeconds(3)), T0));
        Assert.Equal(new ReplicaLag(0x1000, null), ReplicaLag.Measure([], ServerProbe.Replica(new Lsn(0x6000), new Lsn(0x7000)), T0));
        Assert.Equal(new ReplicaLag(null, TimeSpan.Zero), ReplicaLag.Measure([], ServerProbe.Replica(new Lsn(0x6000)), T0));
    }

    [Theory]
    [InlineData(0.5, 1.0, true)]
    [InlineData(1.0, 1.0, true)]
    [InlineData(1.001, 1.0, false)]
    [InlineData(3600.0, 0.0, true)]
    public void Lag_budget_admits_replicas_at_most_that_far_behind(double lagSeconds, double budgetSeconds, bool within)
    {
        var replica = Replica() with { Lag = TimeSpan.FromSeconds(lagSeconds) };

        Assert.Equal(within, LagBudget.IsWithin(replica, TimeSpan.FromSeconds(budgetSeconds)));
    }

    [Fact]
    public void Unknown_lag_is_over_any_budget_but_no_budget_admits_it()
    {
        Assert.False(LagBudget.IsWithin(Replica(), TimeSpan.FromSeconds(10)));
        Assert.True(LagBudget.IsWithin(Replica(), TimeSpan.Zero));
    }

    private static ServerState Replica() => ServerState.Initial(new BackendNode("db", "127.0.0.1", 5433), ConfiguredRole.Replica);

    private static ImmutableArray<WalSample> History(params (DateTimeOffset At, ulong Lsn)[] samples) =>
        [.. samples.Select(s => new WalSample(s.At, new Lsn(s.Lsn)))];
}
