using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Sluice.Proxy.Configuration;
using Sluice.Proxy.Demo;
using Sluice.Proxy.Hosting;

namespace Sluice.Integration.Tests.Fixtures;

/// <summary>
/// One PostgreSQL primary + streaming replica for the whole test run (see <see cref="PostgresCollection"/>), with the
/// database <see cref="Database"/> and a login role per server-side auth method (<see cref="TestRoles"/>), plus
/// helpers to run Sluice in-process in front of it and to run psql/pgbench.
/// </summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    public const string Database = "sluice_test";
    public const string AdminUser = "admin";
    public const string AdminPassword = "admin";

    private static readonly TimeSpan DefaultClientTimeout = TimeSpan.FromSeconds(60);
    private PostgresCluster? cluster;

    public PostgresCluster Cluster => cluster ?? throw new InvalidOperationException("The cluster has not been started.");

    public int PrimaryPort => Cluster.PrimaryPort;

    public int ReplicaPort => Cluster.ReplicaPort;

    public async Task InitializeAsync()
    {
        cluster = await PostgresCluster.StartAsync(new PostgresClusterOptions
        {
            ExtraSettings = await PgStatStatements.PreloadSettingsAsync(PostgresInstallation.Find()),
            ExtraHbaLines =
            [
                $"host all {TestRoles.Trust.Name} 127.0.0.1/32 trust",
                $"host all {TestRoles.Md5.Name} 127.0.0.1/32 md5",
                $"host all {TestRoles.Plain.Name} 127.0.0.1/32 password",
            ],
        });

        // psql runs these one by one in one session: the SET applies to the md5 role only.
        await cluster.ExecuteOnPrimaryAsync($"""
            CREATE ROLE {TestRoles.Scram.Name} LOGIN PASSWORD '{TestRoles.Scram.Password}';
            CREATE ROLE {TestRoles.Plain.Name} LOGIN PASSWORD '{TestRoles.Plain.Password}';
            CREATE ROLE {TestRoles.Trust.Name} LOGIN;
            SET password_encryption = 'md5';
            CREATE ROLE {TestRoles.Md5.Name} LOGIN PASSWORD '{TestRoles.Md5.Password}';
            RESET password_encryption;
            GRANT pg_read_all_data, pg_write_all_data TO {string.Join(", ", TestRoles.All.Select(role => role.Name))};
            CREATE DATABASE {Database};
            """);
        await cluster.ExecuteAsync(cluster.PrimaryPort, "GRANT ALL ON SCHEMA public TO PUBLIC;", Database);
        await cluster.WaitForReplicaCatchUpAsync(TimeSpan.FromSeconds(30));
    }

    public async Task DisposeAsync()
    {
        if (cluster is not null)
        {
            await cluster.DisposeAsync();
        }
    }

    /// <summary>An Npgsql connection string straight to the primary (superuser unless a role is given).</summary>
    public string PrimaryConnectionString(string database = Database, TestRole? role = null) =>
        Cluster.ConnectionString(Cluster.PrimaryPort, database, role?.Name, role?.Password);

    /// <summary>An Npgsql connection string straight to the replica (superuser unless a role is given).</summary>
    public string ReplicaConnectionString(string database = Database, TestRole? role = null) =>
        Cluster.ConnectionString(Cluster.ReplicaPort, database, role?.Name, role?.Password);

    /// <summary>
    /// A config for Sluice in front of the cluster: database <see cref="Database"/> with the primary and the replica,
    /// every <see cref="TestRoles"/> role (client auth = the role's server auth, plain passwords so Sluice can log in to
    /// PostgreSQL with them), the superuser, and <see cref="AdminUser"/> for the admin console. Adjust it with `with`.
    /// </summary>
    /// <remarks>
    /// Read/write splitting is off here: most tests read back what they just wrote, which a streaming replica may not
    /// have replayed yet. Routing tests turn it on with their own [routing] section.
    /// </remarks>
    public ProxyConfig CreateProxyConfig(PoolMode poolMode = PoolMode.Transaction, int poolSize = 5) => new()
    {
        Routing = new RoutingSection { ReadWriteSplit = false },
        Server = new ServerSection { Listen = ["127.0.0.1:0"], HttpListen = "127.0.0.1:0", AdminUsers = [AdminUser] },
        Pool = new PoolSection { Mode = poolMode, Size = poolSize },
        Users =
        [
            .. TestRoles.All.Select(role => new UserConfig { Name = role.Name, Password = role.Password, Auth = role.ServerAuth }),
            new UserConfig { Name = Cluster.Superuser, Password = Cluster.SuperuserPassword, Auth = AuthMethod.ScramSha256 },
            new UserConfig { Name = AdminUser, Password = AdminPassword, Auth = AuthMethod.ScramSha256 },
        ],
        Databases =
        [
            new DatabaseConfig
            {
                Name = Database,
                Servers =
                [
                    new BackendServerConfig { Host = "127.0.0.1", Port = Cluster.PrimaryPort, Role = ServerRole.Primary },
                    new BackendServerConfig { Host = "127.0.0.1", Port = Cluster.ReplicaPort, Role = ServerRole.Replica },
                ],
            },
        ],
    };

    /// <summary>
    /// Starts Sluice in-process with <paramref name="config"/> (null = <see cref="CreateProxyConfig"/>), its listeners
    /// moved to 127.0.0.1:0 (HTTP too, unless disabled with an empty http_listen). Dispose the result to stop it.
    /// </summary>
    public async Task<RunningProxy> StartProxyAsync(ProxyConfig? config = null, ILoggerFactory? loggerFactory = null, CancellationToken cancellationToken = default)
    {
        config ??= CreateProxyConfig();
        var onFreePorts = config with
        {
            Server = config.Server with
            {
                Listen = ["127.0.0.1:0"],
                HttpListen = config.Server.HttpListen.Length == 0 ? "" : "127.0.0.1:0",
            },
        };
        var server = await ProxyServer.StartAsync(onFreePorts, loggerFactory ?? NullLoggerFactory.Instance, cancellationToken);
        return new RunningProxy(server, onFreePorts);
    }

    /// <summary>
    /// psql -X -A -t -v ON_ERROR_STOP=1 -c SQL against 127.0.0.1:<paramref name="port"/> (the simple query protocol, as a
    /// person at a terminal would). Returns exit code and output; does not throw when psql fails.
    /// </summary>
    public Task<ProcessResult> RunPsqlAsync(int port, string sql, string user, string? password, string database = Database, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        ExternalProcess.RunAsync(
            Cluster.Installation.ToolPath("psql"),
            ["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), "-U", user, "-d", database, "-c", sql],
            timeout ?? DefaultClientTimeout,
            ClientEnvironment(password),
            cancellationToken: cancellationToken);

    /// <summary>
    /// pgbench with the given arguments (add -h/-p/-U and the database yourself). Keep runs short (-T or -t):
    /// the timeout kills it and throws <see cref="TimeoutException"/>.
    /// </summary>
    public Task<ProcessResult> RunPgbenchAsync(IEnumerable<string> arguments, string? password, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        ExternalProcess.RunAsync(Cluster.Installation.ToolPath("pgbench"), arguments, timeout, ClientEnvironment(password), cancellationToken: cancellationToken);

    // Nothing from the caller's environment (PGHOST, PGSERVICE, a stray password) may change where a client goes or who it is.
    private static Dictionary<string, string?> ClientEnvironment(string? password) => new()
    {
        ["PGPASSWORD"] = password,
        ["PGCONNECT_TIMEOUT"] = "10",
        ["PGHOST"] = null,
        ["PGPORT"] = null,
        ["PGUSER"] = null,
        ["PGDATABASE"] = null,
        ["PGSERVICE"] = null,
        ["PGPASSFILE"] = "/dev/null",
        ["PGOPTIONS"] = null,
    };
}
