using Sluice.Proxy.Failover;
using Sluice.Proxy.Observability;
using Sluice.Routing.Topology;

namespace Sluice.Proxy.Tests.Failover;

public sealed class FailoverHistoryTests
{
    private const string Database = "shop";
    private const string First = "127.0.0.1:5432";
    private const string Second = "127.0.0.1:5433";
    private static readonly DateTimeOffset Start = new(2026, 12, 5, 8, 0, 0, TimeSpan.Zero);

    private TopologySnapshot _snapshot = TopologySnapshot.Create(
        new TopologySettings(),
        [new DatabaseLayout(Database, [new ServerLayout("127.0.0.1", 5432, ConfiguredRole.Auto), new ServerLayout("127.0.0.1", 5433, ConfiguredRole.Auto)])]);

    private DatabaseTopology Topology => _snapshot.Find(Database)!;

    [Fact]
    public void The_first_primary_is_no_failover_nor_is_the_same_one_coming_back()
    {
        var metrics = new SluiceMetrics();
        var history = new FailoverHistory(metrics);

        Assert.Null(history.Observe(Topology, Start));
        Primary(First).Replica(Second);
        Assert.Null(history.Observe(Topology, Start));
        Down(First);
        Assert.Null(history.Observe(Topology, Start));
        Primary(First);
        Assert.Null(history.Observe(Topology, Start.AddSeconds(1)));

        Assert.Equal((0L, (DateTimeOffset?)null), history.Of(Database));
    }

    [Fact]
    public void A_new_primary_on_another_server_is_one_failover_however_long_there_was_none()
    {
        var metrics = new SluiceMetrics();
        var history = new FailoverHistory(metrics);
        Primary(First).Replica(Second);
        history.Observe(Topology, Start);

        Down(First);
        Assert.Null(history.Observe(Topology, Start.AddSeconds(1)));
        Primary(Second);
        Assert.Equal(Second, history.Observe(Topology, Start.AddSeconds(2)));
        Assert.Null(history.Observe(Topology, Start.AddSeconds(3)));

        // The old primary back as a standby changes nothing; failing back to it is a second failover.
        Replica(First);
        Assert.Null(history.Observe(Topology, Start.AddSeconds(4)));
        Down(Second).Primary(First);
        Assert.Equal(First, history.Observe(Topology, Start.AddSeconds(5)));

        Assert.Equal((2L, (DateTimeOffset?)Start.AddSeconds(5)), history.Of(Database));
        Assert.Equal((0L, (DateTimeOffset?)null), history.Of("other"));
    }

    [Fact]
    public async Task Failovers_and_the_time_writes_waited_are_exported()
    {
        var metrics = new SluiceMetrics();
        var history = new FailoverHistory(metrics);
        Primary(First).Replica(Second);
        history.Observe(Topology, Start);

        var before = await metrics.ScrapeAsync();
        Assert.Contains("sluice_failovers_total{database=\"shop\"} 0", before, StringComparison.Ordinal);

        Down(First).Primary(Second);
        history.Observe(Topology, Start.AddSeconds(1));
        metrics.FailoverWait(Database, 0.7);

        var after = await metrics.ScrapeAsync();
        Assert.Contains("sluice_failovers_total{database=\"shop\"} 1", after, StringComparison.Ordinal);
        Assert.Contains("sluice_failover_wait_seconds_count{database=\"shop\"} 1", after, StringComparison.Ordinal);
        Assert.Contains("sluice_failover_wait_seconds_bucket{database=\"shop\",le=\"1\"} 1", after, StringComparison.Ordinal);
        Assert.Contains("sluice_failover_wait_seconds_bucket{database=\"shop\",le=\"0.5\"} 0", after, StringComparison.Ordinal);
    }

    private FailoverHistoryTests Primary(string server)
    {
        _snapshot = _snapshot.RecordCheck(Database, server, ServerProbe.Primary(new Lsn(0x1000)), Start);
        return this;
    }

    private FailoverHistoryTests Replica(string server)
    {
        _snapshot = _snapshot.RecordCheck(Database, server, ServerProbe.Replica(new Lsn(0x1000), new Lsn(0x1000), TimeSpan.Zero), Start);
        return this;
    }

    private FailoverHistoryTests Down(string server)
    {
        _snapshot = _snapshot.RecordFailure(Database, server, "connection refused", Start);
        return this;
    }
}
