using System.Diagnostics;
using System.Net;
using Sluice.Integration.Tests.Fixtures;
using Sluice.Proxy.Configuration;
using Sluice.Proxy.Demo;
using Sluice.Proxy.Health;
using Sluice.Proxy.Runtime;
using Sluice.Routing.Topology;
using Xunit.Abstractions;

namespace Sluice.Integration.Tests.Routing;

/// <summary>
/// The health monitor against real servers: roles, lag, bans, failover and fencing as the routing decisions see them.
/// The shared cluster is paused and stopped here but always given back streaming; failover and fencing get clusters
/// of their own.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class MonitorTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private static readonly TimeSpan CheckInterval = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(30);

    private static readonly RoutingSection FastRouting = new()
    {
        LagCheckInterval = TimeSpan.FromMilliseconds(100),
        HealthCheckInterval = CheckInterval,
        MaxReplicaLag = TimeSpan.FromMilliseconds(600), // above the walwriter delay: lag is measured from the primary's insert position
        BanTime = TimeSpan.FromSeconds(1),
    };

    private string PrimaryName => $"127.0.0.1:{fixture.PrimaryPort}";

    private string ReplicaName => $"127.0.0.1:{fixture.ReplicaPort}";

    [Fact]
    public async Task Monitor_finds_the_primary_and_a_caught_up_replica_and_routes_by_them()
    {
        await using var proxy = await StartAsync(fixture.CreateProxyConfig() with { Routing = FastRouting });
        var health = proxy.Server.Runtime.Health;
        await fixture.Cluster.WaitForReplicaCatchUpAsync(WaitLimit);

        await WaitUntilAsync(health, () => Row(health, ReplicaName) is { Up: true, WithinBudget: true } && Row(health, PrimaryName).Up, "both servers up, the replica within budget");

        var primary = Row(health, PrimaryName);
        var replica = Row(health, ReplicaName);
        Assert.Equal(("primary", "primary"), (primary.Role, primary.ConfiguredRole));
        Assert.Equal(("replica", "replica"), (replica.Role, replica.ConfiguredRole));
        Assert.True(replica.LagSeconds <= FastRouting.MaxReplicaLag.TotalSeconds, $"lag {replica.LagSeconds} s");
        Assert.NotNull(replica.LagBytes);
        Assert.Null(primary.LagSeconds);
        Assert.Null(replica.BannedUntil);
        Assert.Equal(fixture.ReplicaPort, health.Select(PostgresFixture.Database, RouteKind.Read).Server?.Port);
        var write = health.Select(PostgresFixture.Database, RouteKind.Write);
        Assert.Equal(fixture.PrimaryPort, write.Server?.Port);
        Assert.Equal("primary", write.RoleName);
        Assert.NotNull(health.PrimaryLsn(PostgresFixture.Database));
        Assert.True(health.AllDatabasesHavePrimary().Ok);
        Assert.True(health.AllDatabasesHaveReplica().Ok);
        Assert.Equal(HttpStatusCode.OK, await GetStatusAsync(proxy, "primary"));
        Assert.Equal(HttpStatusCode.OK, await GetStatusAsync(proxy, "replica"));
        var gauges = health.Servers().ToList();
        Assert.Contains(gauges, g => g.Server == PrimaryName && g.Role == "primary" && g.Up && g.LagSeconds is null);
        Assert.Contains(gauges, g => g.Server == ReplicaName && g.Role == "replica" && g.Up && g.LagBytes is not null);
    }

    [Fact]
    public async Task Replica_with_paused_replay_gets_no_reads_until_it_catches_up()
    {
        await using var proxy = await StartAsync(fixture.CreateProxyConfig() with { Routing = FastRouting });
        var health = proxy.Server.Runtime.Health;
        await WaitUntilAsync(health, () => ReadsGoTo(health) == fixture.ReplicaPort, "reads on the replica");

        await fixture.Cluster.ExecuteAsync(fixture.ReplicaPort, "SELECT pg_wal_replay_pause()");
        try
        {
            await fixture.Cluster.ExecuteAsync(fixture.PrimaryPort, """
                CREATE TABLE IF NOT EXISTS monitor_lag (id int, payload text);
                INSERT INTO monitor_lag SELECT g, repeat('x', 1000) FROM generate_series(1, 1000) g;
                """, PostgresFixture.Database);

            await WaitUntilAsync(health, () => ReadsGoTo(health) == fixture.PrimaryPort, "reads back on the primary while replay is paused");

            var replica = Row(health, ReplicaName);
            Assert.True(replica.Up);
            Assert.False(replica.WithinBudget);
            Assert.True(replica.LagBytes > 0, $"lag bytes {replica.LagBytes}");
            Assert.True(replica.LagSeconds > FastRouting.MaxReplicaLag.TotalSeconds, $"lag {replica.LagSeconds} s");
            Assert.False(health.AllDatabasesHaveReplica().Ok);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, await GetStatusAsync(proxy, "replica"));
            Assert.Equal(fixture.PrimaryPort, health.Select(PostgresFixture.Database, RouteKind.Write).Server?.Port);
        }
        finally
        {
            await fixture.Cluster.ExecuteAsync(fixture.ReplicaPort, "SELECT pg_wal_replay_resume()");
        }

        await WaitUntilAsync(health, () => ReadsGoTo(health) == fixture.ReplicaPort, "reads on the replica again after replay resumed");
        Assert.True(Row(health, ReplicaName).WithinBudget);
        await fixture.Cluster.ExecuteAsync(fixture.PrimaryPort, "DROP TABLE monitor_lag", PostgresFixture.Database);
    }

    [Fact]
    public async Task Stopped_replica_is_banned_and_reads_go_to_the_primary_until_it_is_back()
    {
        await using var proxy = await StartAsync(fixture.CreateProxyConfig() with { Routing = FastRouting });
        var health = proxy.Server.Runtime.Health;
        await WaitUntilAsync(health, () => ReadsGoTo(health) == fixture.ReplicaPort, "reads on the replica");

        await fixture.Cluster.StopServerAsync(ClusterNode.Replica);
        try
        {
            await WaitUntilAsync(health, () => !Row(health, ReplicaName).Up, "the replica marked down");

            var replica = Row(health, ReplicaName);
            Assert.NotNull(replica.LastError);
            Assert.Equal(fixture.PrimaryPort, ReadsGoTo(health));
            Assert.Equal(fixture.PrimaryPort, health.Select(PostgresFixture.Database, RouteKind.Write).Server?.Port);
            Assert.Contains(health.Servers(), g => g.Server == ReplicaName && !g.Up);
        }
        finally
        {
            await fixture.Cluster.StartServerAsync(ClusterNode.Replica);
            await fixture.Cluster.WaitForStreamingAsync(WaitLimit);
        }

        await WaitUntilAsync(health, () => ReadsGoTo(health) == fixture.ReplicaPort, "reads on the replica again once its ban ended and a check passed");
        Assert.Null(Row(health, ReplicaName).BannedUntil);
    }

    [Fact]
    public async Task Banned_replica_is_reported_with_when_its_ban_ends()
    {
        var routing = FastRouting with { BanTime = TimeSpan.FromMinutes(5) };
        var config = fixture.CreateProxyConfig() with
        {
            Routing = routing,
            Databases =
            [
                fixture.CreateProxyConfig().Databases[0] with
                {
                    Servers =
                    [
                        new BackendServerConfig { Host = "127.0.0.1", Port = fixture.PrimaryPort, Role = ServerRole.Primary },
                        new BackendServerConfig { Host = "127.0.0.1", Port = 1, Role = ServerRole.Replica },
                    ],
                },
            ],
        };
        await using var proxy = await StartAsync(config);
        var health = proxy.Server.Runtime.Health;

        await WaitUntilAsync(health, () => Row(health, "127.0.0.1:1").BannedUntil is not null, "the unreachable replica banned");

        var banned = Row(health, "127.0.0.1:1");
        Assert.False(banned.Up);
        Assert.InRange(banned.BannedUntil!.Value - health.Now, TimeSpan.FromMinutes(4), TimeSpan.FromMinutes(5));
        Assert.Equal(fixture.PrimaryPort, ReadsGoTo(health));
        Assert.False(health.AllDatabasesHaveReplica().Ok);
    }

    [Fact]
    public async Task Reload_adds_and_removes_monitored_servers()
    {
        var primaryOnly = fixture.CreateProxyConfig() with
        {
            Routing = FastRouting,
            Databases = [fixture.CreateProxyConfig().Databases[0] with { Servers = [fixture.CreateProxyConfig().Databases[0].Servers[0]] }],
        };
        await using var proxy = await StartAsync(primaryOnly);
        var health = proxy.Server.Runtime.Health;
        await WaitUntilAsync(health, () => Row(health, PrimaryName).Up, "the primary up");
        Assert.Equal(fixture.PrimaryPort, ReadsGoTo(health));

        proxy.Server.Reload(fixture.CreateProxyConfig() with { Routing = FastRouting });

        await WaitUntilAsync(health, () => ReadsGoTo(health) == fixture.ReplicaPort, "reads on the replica added by the reload");

        proxy.Server.Reload(primaryOnly);

        Assert.Equal([PrimaryName], health.Replicas().Select(r => r.Server));
        Assert.Equal(fixture.PrimaryPort, ReadsGoTo(health));
    }

    [Fact]
    public async Task Failover_to_a_promoted_replica_is_seen_within_two_checks()
    {
        await using var cluster = await PostgresCluster.StartAsync(new PostgresClusterOptions());
        await using var proxy = await StartAsync(OwnClusterConfig(cluster));
        var health = proxy.Server.Runtime.Health;
        var primaryName = $"127.0.0.1:{cluster.PrimaryPort}";
        var replicaName = $"127.0.0.1:{cluster.ReplicaPort}";
        await WaitUntilAsync(health, () => ReadsGoTo(health, "postgres") == cluster.ReplicaPort && Row(health, primaryName).Up, "the own cluster up", "postgres");

        await cluster.StopServerAsync(ClusterNode.Primary);
        await WaitUntilAsync(health, () => !Row(health, primaryName).Up, "the stopped primary marked down", "postgres");
        var noPrimary = health.Select("postgres", RouteKind.Write);
        Assert.Equal(SelectionStatus.NoPrimary, noPrimary.Selection.Status);
        Assert.Equal("no writable primary for database \"postgres\"", noPrimary.FailureMessage);
        Assert.Null(Row(health, primaryName).BannedUntil);
        Assert.Equal(cluster.ReplicaPort, ReadsGoTo(health, "postgres"));

        await cluster.PromoteReplicaAsync();
        var checksAtPromotion = ReplicaState(health, "postgres", replicaName).Checks;

        await WaitUntilAsync(health, () => health.Select("postgres", RouteKind.Write).Server?.Port == cluster.ReplicaPort, "writes on the promoted replica", "postgres");

        var promoted = ReplicaState(health, "postgres", replicaName);
        Assert.Equal(ObservedRole.Primary, promoted.Role);
        Assert.True(promoted.RoleSinceCheck <= checksAtPromotion + 2, $"seen as primary at check {promoted.RoleSinceCheck}, promotion done at check {checksAtPromotion}");
        Assert.Equal(cluster.ReplicaPort, ReadsGoTo(health, "postgres"));
        Assert.Equal("primary", health.RoleOf("postgres", replicaName));
        Assert.True(health.AllDatabasesHavePrimary().Ok);
    }

    [Fact]
    public async Task Two_writable_servers_fence_writes_until_one_is_gone()
    {
        await using var cluster = await PostgresCluster.StartAsync(new PostgresClusterOptions());
        await using var proxy = await StartAsync(OwnClusterConfig(cluster));
        var health = proxy.Server.Runtime.Health;
        var primaryName = $"127.0.0.1:{cluster.PrimaryPort}";
        await WaitUntilAsync(health, () => ReadsGoTo(health, "postgres") == cluster.ReplicaPort && Row(health, primaryName).Up, "the own cluster up", "postgres");

        await cluster.PromoteReplicaAsync();

        await WaitUntilAsync(health, () => health.Select("postgres", RouteKind.Write).Selection.Status == SelectionStatus.Fenced, "writes fenced", "postgres");
        var fenced = health.Select("postgres", RouteKind.Write);
        Assert.Null(fenced.Server);
        Assert.Contains("more than one of its servers is writable", fenced.FailureMessage, StringComparison.Ordinal);
        Assert.False(health.AllDatabasesHavePrimary().Ok);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, await GetStatusAsync(proxy, "primary"));

        await cluster.StopServerAsync(ClusterNode.Primary);

        await WaitUntilAsync(health, () => health.Select("postgres", RouteKind.Write).Server?.Port == cluster.ReplicaPort, "writes on the promoted server once the old primary is gone", "postgres");
        Assert.Equal(HttpStatusCode.OK, await GetStatusAsync(proxy, "primary"));
    }

    [Fact]
    public void Monitor_logs_in_as_the_first_user_with_a_plain_password()
    {
        var config = fixture.CreateProxyConfig();
        var database = config.Databases[0];
        var server = database.Servers[0];

        Assert.Equal(TestRoles.Scram.Name, MonitorLogin.Choose(config, database, server)?.User);

        var hashedOnly = config with
        {
            Users =
            [
                new UserConfig { Name = "admin", Password = "admin" },
                new UserConfig { Name = "verifier", Password = "SCRAM-SHA-256$4096:c2FsdA==$a2V5:a2V5" },
                new UserConfig { Name = "hashed", Password = "md5" + new string('0', 32), Auth = AuthMethod.Md5 },
                new UserConfig { Name = "trusted", Auth = AuthMethod.Trust },
                new UserConfig { Name = "app", Password = "SCRAM-SHA-256$4096:c2FsdA==$a2V5:a2V5", ServerUser = "app_server", ServerPassword = "secret" },
            ],
        };
        var chosen = MonitorLogin.Choose(hashedOnly, database, server);
        Assert.Equal(("app_server", "secret"), (chosen?.User, chosen?.Password));

        var noPassword = hashedOnly with { Users = hashedOnly.Users.RemoveAt(4) };
        Assert.Equal(("trusted", null), (MonitorLogin.Choose(noPassword, database, server)?.User, MonitorLogin.Choose(noPassword, database, server)?.Password));
        Assert.Null(MonitorLogin.Choose(noPassword with { Users = [noPassword.Users[0]] }, database, server));
    }

    private ProxyConfig OwnClusterConfig(PostgresCluster cluster) => new()
    {
        Server = new ServerSection { Listen = ["127.0.0.1:0"], HttpListen = "127.0.0.1:0", AdminUsers = [PostgresFixture.AdminUser] },
        Routing = FastRouting,
        Users = [new UserConfig { Name = cluster.Superuser, Password = cluster.SuperuserPassword }],
        Databases =
        [
            new DatabaseConfig
            {
                Name = "postgres",
                Servers =
                [
                    new BackendServerConfig { Host = "127.0.0.1", Port = cluster.PrimaryPort, Role = ServerRole.Primary },
                    new BackendServerConfig { Host = "127.0.0.1", Port = cluster.ReplicaPort, Role = ServerRole.Replica },
                ],
            },
        ],
    };

    private async Task<RunningProxy> StartAsync(ProxyConfig config)
    {
        var loggerFactory = RoutingTestSupport.Logging(output);
        return await fixture.StartProxyAsync(config, loggerFactory);
    }

    private static int? ReadsGoTo(HealthState health, string database = PostgresFixture.Database) =>
        health.Select(database, RouteKind.Read).Server?.Port;

    private static ServerStatus Row(HealthState health, string server) => health.Replicas().Single(row => row.Server == server);

    private static ServerState ReplicaState(HealthState health, string database, string server) => health.Topology.Find(database)!.Find(server)!;

    private static async Task<HttpStatusCode> GetStatusAsync(RunningProxy proxy, string path)
    {
        using var client = new HttpClient { BaseAddress = proxy.HttpBaseAddress, Timeout = TimeSpan.FromSeconds(10) };
        using var response = await client.GetAsync(new Uri(path, UriKind.Relative));
        return response.StatusCode;
    }

    private async Task WaitUntilAsync(HealthState health, Func<bool> condition, string what, string database = PostgresFixture.Database)
    {
        var stopwatch = Stopwatch.StartNew();
        while (!condition())
        {
            if (stopwatch.Elapsed > WaitLimit)
            {
                var rows = string.Join(Environment.NewLine, health.Replicas().Where(r => r.Database == database));
                Assert.Fail($"not within {WaitLimit.TotalSeconds} s: {what}{Environment.NewLine}{rows}");
            }

            await Task.Delay(10);
        }

        output.WriteLine($"{what}: after {stopwatch.Elapsed.TotalMilliseconds:0} ms");
    }
}
