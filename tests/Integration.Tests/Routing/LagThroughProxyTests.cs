using System.Diagnostics;
using Npgsql;
using Sluice.Integration.Tests.Fixtures;
using Xunit.Abstractions;
using static Sluice.Integration.Tests.Routing.RoutingTestSupport;

namespace Sluice.Integration.Tests.Routing;

/// <summary>
/// A replica whose replay is paused falls out of the lag budget: reads through the proxy go to the primary until it
/// catches up. Replay on the shared replica is always resumed.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class LagThroughProxyTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private const string Database = PostgresFixture.Database;
    // Not much below the walwriter's 200 ms: the monitor measures from the primary's insert position, which an idle
    // primary can hold that far ahead of what it has sent.
    private static readonly TimeSpan MaxLag = TimeSpan.FromMilliseconds(600);

    [Fact]
    public async Task Reads_leave_a_lagging_replica_for_the_primary_and_come_back_when_it_catches_up()
    {
        var config = fixture.CreateProxyConfig() with { Routing = FastRouting with { MaxReplicaLag = MaxLag } };
        await using var proxy = await fixture.StartProxyAsync(config, Logging(output));
        var health = proxy.Server.Runtime.Health;
        var replicaName = $"127.0.0.1:{fixture.ReplicaPort}";
        await fixture.Cluster.ExecuteAsync(fixture.PrimaryPort, "CREATE TABLE IF NOT EXISTS routing_lag (id int, payload text); TRUNCATE routing_lag", Database);
        await fixture.Cluster.WaitForReplicaCatchUpAsync(WaitLimit);
        await WaitUntilAsync(output, health, () => ReadsGoTo(health, Database) == fixture.ReplicaPort, "reads on the replica");
        await using var connection = new NpgsqlConnection(proxy.ConnectionString(fixture.Cluster.Superuser, fixture.Cluster.SuperuserPassword));
        await connection.OpenAsync();
        Assert.True(await RanOnReplicaAsync(connection));

        await fixture.Cluster.ExecuteAsync(fixture.ReplicaPort, "SELECT pg_wal_replay_pause()");
        try
        {
            // ~1 MB the replica receives but does not replay; the lag in seconds grows from the first unreplayed commit.
            await fixture.Cluster.ExecuteAsync(fixture.PrimaryPort, """
                INSERT INTO routing_lag SELECT g, repeat('x', 1000) FROM generate_series(1, 1000) g;
                SELECT pg_switch_wal();
                """, Database);
            var lagging = await WaitUntilAsync(output, health, () => Row(health, replicaName) is { Up: true, WithinBudget: false }, "the paused replica out of its lag budget");
            output.WriteLine($"replica row: {Row(health, replicaName)} ({lagging.TotalMilliseconds:0} ms after the write)");

            for (var i = 0; i < 5; i++)
            {
                Assert.False(await RanOnReplicaAsync(connection), "a read went to the replica outside its lag budget");
            }

            Assert.Equal(1000L, await ScalarAsync<long>(connection, "SELECT count(*) FROM routing_lag"));
        }
        finally
        {
            await fixture.Cluster.ExecuteAsync(fixture.ReplicaPort, "SELECT pg_wal_replay_resume()");
        }

        await WaitUntilAsync(output, health, () => Row(health, replicaName) is { Up: true, WithinBudget: true }, "the replica back within budget after replay resumed");
        var stopwatch = Stopwatch.StartNew();
        while (!await RanOnReplicaAsync(connection))
        {
            Assert.True(stopwatch.Elapsed < WaitLimit, "reads did not return to the replica");
            await Task.Delay(20);
        }

        await fixture.Cluster.WaitForReplicaCatchUpAsync(WaitLimit);
        Assert.Equal(1000L, await ScalarAsync<long>(connection, "SELECT count(*) FROM routing_lag"));
        Assert.True(await RanOnReplicaAsync(connection));
        await fixture.Cluster.ExecuteAsync(fixture.PrimaryPort, "DROP TABLE routing_lag", Database);
    }
}
