using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Npgsql;
using Sluice.Integration.Tests.Fixtures;
using Sluice.Proxy.Configuration;
using Sluice.Proxy.Demo;
using Sluice.Proxy.Health;
using Sluice.Proxy.Runtime;
using Sluice.Routing.Topology;
using Xunit.Abstractions;

namespace Sluice.Integration.Tests.Routing;

/// <summary>What the routing tests through the proxy share: fast intervals, bounded waits, and where a statement ran.</summary>
internal static partial class RoutingTestSupport
{
    public static readonly TimeSpan HealthCheckInterval = TimeSpan.FromMilliseconds(200);
    public static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Short intervals; a lag budget wide enough that the shared cluster's normal replay never leaves it. Routing-rule,
    /// lag and failover tests read right after writing and check where the classifier and the lag budget send a read,
    /// so they use lag_budget; causal and session reads have their own tests (CausalReadsThroughProxyTests).
    /// </summary>
    public static readonly RoutingSection FastRouting = new()
    {
        ReadConsistency = ReadConsistency.LagBudget,
        LagCheckInterval = TimeSpan.FromMilliseconds(100),
        HealthCheckInterval = HealthCheckInterval,
        MaxReplicaLag = TimeSpan.FromSeconds(2),
        BanTime = TimeSpan.FromSeconds(1),

        // Tests that take the primary away expect the no-primary error soon; failover tests set their own wait.
        FailoverWait = TimeSpan.FromSeconds(1),
    };

    public static ILoggerFactory Logging(ITestOutputHelper output) =>
        LoggerFactory.Create(builder => builder.SetMinimumLevel(LogLevel.Information).AddProvider(new TestOutputLoggerProvider(output)));

    /// <summary>Sluice in transaction mode in front of a cluster of its own, database "postgres", the superuser as the only user.</summary>
    public static ProxyConfig OwnClusterConfig(PostgresCluster cluster, RoutingSection routing) => new()
    {
        Server = new ServerSection { Listen = ["127.0.0.1:0"], HttpListen = "127.0.0.1:0", AdminUsers = [PostgresFixture.AdminUser] },
        Pool = new PoolSection { Mode = PoolMode.Transaction, Size = 5 },
        Routing = routing,
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

    public static int? ReadsGoTo(HealthState health, string database) => health.Select(database, RouteKind.Read).Server?.Port;

    public static ServerStatus Row(HealthState health, string server) => health.Replicas().Single(row => row.Server == server);

    /// <summary>Polls <paramref name="condition"/> every 10 ms for at most <see cref="WaitLimit"/>; returns how long it took.</summary>
    public static async Task<TimeSpan> WaitUntilAsync(ITestOutputHelper output, HealthState health, Func<bool> condition, string what)
    {
        var stopwatch = Stopwatch.StartNew();
        while (!condition())
        {
            if (stopwatch.Elapsed > WaitLimit)
            {
                Assert.Fail($"not within {WaitLimit.TotalSeconds} s: {what}{Environment.NewLine}{string.Join(Environment.NewLine, health.Replicas())}");
            }

            await Task.Delay(10);
        }

        output.WriteLine($"{what}: after {stopwatch.Elapsed.TotalMilliseconds:0} ms");
        return stopwatch.Elapsed;
    }

    /// <summary>Runs one statement (simple protocol when it has no parameters) and reads its first column of its first row.</summary>
    public static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        var value = await command.ExecuteScalarAsync();
        return (T)value!;
    }

    /// <summary>Whether <paramref name="sql"/> (whose first column is pg_is_in_recovery()) ran on a standby.</summary>
    public static Task<bool> RanOnReplicaAsync(NpgsqlConnection connection, string sql = "SELECT pg_is_in_recovery()") =>
        ScalarAsync<bool>(connection, sql);

    /// <summary>The sum of a counter's samples for one database and, when given, one route (0 when absent).</summary>
    public static async Task<double> CounterAsync(RunningProxy proxy, string metric, string database, string? route = null)
    {
        using var client = new HttpClient { BaseAddress = proxy.HttpBaseAddress, Timeout = TimeSpan.FromSeconds(10) };
        var text = await client.GetStringAsync(new Uri("metrics", UriKind.Relative));
        var total = 0.0;
        foreach (var line in text.Split('\n'))
        {
            var match = SampleLine().Match(line);
            if (match.Success && match.Groups["name"].Value == metric
                && match.Groups["labels"].Value.Contains($"database=\"{database}\"", StringComparison.Ordinal)
                && (route is null || match.Groups["labels"].Value.Contains($"route=\"{route}\"", StringComparison.Ordinal)))
            {
                total += double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture);
            }
        }

        return total;
    }

    [GeneratedRegex(@"^(?<name>[a-z_]+)\{(?<labels>[^}]*)\}\s+(?<value>\S+)")]
    private static partial Regex SampleLine();

    /// <summary>The proxy's log lines in the test's output, to see what it decided when a test fails.</summary>
    private sealed class TestOutputLoggerProvider(ITestOutputHelper output) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Logger(output, categoryName);

        public void Dispose()
        {
        }

        private sealed class Logger(ITestOutputHelper output, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                try
                {
                    output.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel} {category}: {formatter(state, exception)}");
                }
                catch (InvalidOperationException)
                {
                    // The test has finished; its output is closed.
                }
            }
        }
    }
}
