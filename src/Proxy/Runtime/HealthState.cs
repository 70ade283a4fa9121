using Sluice.Proxy.Configuration;
using Sluice.Proxy.Health;
using Sluice.Proxy.Observability;
using Sluice.Routing.Topology;

namespace Sluice.Proxy.Runtime;

/// <summary>
/// What the proxy knows of its servers, read from the <see cref="HealthMonitor"/>'s current topology snapshot: server
/// selection for client sessions, /primary and /replica, the server gauges of /metrics and SHOW REPLICAS. Every method
/// reads one snapshot and takes no lock.
/// </summary>
internal sealed class HealthState
{
    private readonly HealthMonitor _monitor;
    private readonly Func<ProxyConfig> _config;

    public HealthState(HealthMonitor monitor, Func<ProxyConfig> config)
    {
        _monitor = monitor;
        _config = config;
    }

    /// <summary>The current snapshot, for callers that make several decisions from one view.</summary>
    public TopologySnapshot Topology => _monitor.Topology;

    /// <summary>The primaries each database has had: failover counts for SHOW SERVERS.</summary>
    public Failover.FailoverHistory Failovers => _monitor.Failovers;

    /// <summary>The monitor's clock.</summary>
    public DateTimeOffset Now => _monitor.Time.GetUtcNow();

    /// <summary>
    /// The server for a transaction on <paramref name="database"/> (the name clients connect to).
    /// Write: the one healthy writable server; fails with <see cref="SelectionStatus.NoPrimary"/> or, with two writable
    /// servers, <see cref="SelectionStatus.Fenced"/>. Read: a replica that is up and within max_replica_lag (and, with
    /// <paramref name="minLsn"/>, has replayed at least that far), by routing.load_balancing; else the primary. With
    /// read_write_split off, reads are routed as writes.
    /// </summary>
    public ServerRoute Select(string database, RouteKind route, Lsn? minLsn = null) =>
        _config().FindDatabase(database) is { } config
            ? Select(config, route, minLsn)
            : new ServerRoute(Topology.Select(database, route, minLsn), null);

    /// <summary>As <see cref="Select(string, RouteKind, Lsn?)"/> with the database's config entry already at hand.</summary>
    public ServerRoute Select(DatabaseConfig database, RouteKind route, Lsn? minLsn = null)
    {
        ArgumentNullException.ThrowIfNull(database);
        return Route(database, Topology.Select(database.HealthName, route, minLsn));
    }

    /// <summary>The config entry of the server <paramref name="selection"/> chose for a transaction on <paramref name="database"/>.</summary>
    public static ServerRoute Route(DatabaseConfig database, ServerSelection selection)
    {
        ArgumentNullException.ThrowIfNull(database);
        if (selection.Server is not { } node)
        {
            // With a single server there is nothing to choose between: it gets the transaction whatever its last check
            // said, as with PgBouncer (a monitor that cannot log in or query must not take the only server away).
            return database.Servers.Length == 1
                ? new ServerRoute(new ServerSelection(SelectionStatus.Selected, database.Name, null, ObservedRole.Primary), database.Servers[0])
                : new ServerRoute(selection, null);
        }

        foreach (var server in database.Servers)
        {
            if (server.Port == node.Port && server.Host == node.Host)
            {
                return new ServerRoute(selection, server);
            }
        }

        // The config was reloaded between the caller's look-up and this one: the node still names where to go.
        return new ServerRoute(selection, new BackendServerConfig { Host = node.Host, Port = node.Port, Role = ServerRole.Auto });
    }

    /// <summary>What is known of one server right now, for the admin console's SHOW SERVERS / DATABASES / REPLICAS.</summary>
    public ServerReport GetServerHealth(DatabaseConfig database, BackendServerConfig server)
    {
        foreach (var status in Replicas())
        {
            if (status.Database == database.Name && status.Server == server.Name)
            {
                var role = status.Role switch
                {
                    "primary" => ServerRole.Primary,
                    "replica" => ServerRole.Replica,
                    _ => server.Role,
                };
                return new ServerReport(database.Name, server.Name, role, status.LastCheckAt is null ? null : status.Up, status.LagBytes, status.LagSeconds, status.WalLsn);
            }
        }

        return new ServerReport(database.Name, server.Name, server.Role, Up: null, LagBytes: null, LagSeconds: null);
    }

    /// <summary>The last write position the monitor read from the database's primary (at most one check interval old).</summary>
    public Lsn? PrimaryLsn(string database) => Topology.PrimaryLsn(database);

    /// <summary>Each database's read floor as a WAL byte offset, for those whose writes a primary position covers yet.</summary>
    public IEnumerable<ReadFloorGauge> ReadFloors()
    {
        foreach (var database in Topology.Databases)
        {
            if (ReadFloor(database.Name) is { } floor)
            {
                yield return new ReadFloorGauge(database.Name, Offset(floor));
            }
        }
    }

    /// <summary>The latest primary position known to cover the database's writes through the proxy; null before the first.</summary>
    public Lsn? ReadFloor(string database) =>
        _monitor.Floors.Find(database)?.Fence is { CoveredWrites: > 0 } fence ? fence.Position : null;

    private static long Offset(Lsn lsn) => (long)Math.Min(lsn.Value, long.MaxValue);

    /// <summary>The role label of a server for metrics: what the monitor found, else the configured role.</summary>
    public string RoleOf(string database, string server) =>
        Topology.Find(database)?.Find(server) is { } state ? RoleNames.Of(state.Role) : "unknown";

    /// <summary>/primary: every database has a single writable primary whose last check passed.</summary>
    public (bool Ok, string Detail) AllDatabasesHavePrimary()
    {
        foreach (var database in Topology.Databases)
        {
            if (database.IsFenced)
            {
                return (false, $"database {database.Name} is fenced: more than one server is writable");
            }

            if (database.Primary is not { Health: ServerHealth.Up })
            {
                return (false, $"database {database.Name} has no writable primary");
            }
        }

        return (true, "");
    }

    /// <summary>/replica: every database has a replica that is up and within max_replica_lag.</summary>
    public (bool Ok, string Detail) AllDatabasesHaveReplica()
    {
        var snapshot = Topology;
        foreach (var database in snapshot.Databases)
        {
            if (!database.Servers.Any(server => DatabaseTopology.TakesReads(server, snapshot.Settings.MaxReplicaLag)))
            {
                return (false, $"database {database.Name} has no replica within the lag budget");
            }
        }

        return (true, "");
    }

    /// <summary>Every configured server with what is known of it, for sluice_server_up and the lag gauges.</summary>
    public IEnumerable<ServerStatusGauge> Servers()
    {
        foreach (var database in Topology.Databases)
        {
            foreach (var server in database.Servers)
            {
                var replica = server.Role == ObservedRole.Replica;
                yield return new ServerStatusGauge(
                    database.Name,
                    server.Name,
                    RoleNames.Of(server.Role),
                    server.Health == ServerHealth.Up,
                    replica ? server.Lag?.TotalSeconds : null,
                    replica ? server.LagBytes : null,
                    server.WalLsn is { } lsn ? Offset(lsn) : null);
            }
        }
    }

    /// <summary>Every configured server's health, role and lag: the rows of SHOW REPLICAS, in config order.</summary>
    public IReadOnlyList<ServerStatus> Replicas()
    {
        var snapshot = Topology;
        var now = Now;
        var rows = new List<ServerStatus>();
        foreach (var database in snapshot.Databases)
        {
            foreach (var server in database.Servers)
            {
                var replica = server.Role == ObservedRole.Replica;
                rows.Add(new ServerStatus(
                    database.Name,
                    server.Name,
                    RoleNames.Of(server.Role),
                    ConfigNames.ServerRole.Format(server.ConfiguredRole switch
                    {
                        ConfiguredRole.Primary => ServerRole.Primary,
                        ConfiguredRole.Replica => ServerRole.Replica,
                        _ => ServerRole.Auto,
                    }),
                    server.Health == ServerHealth.Up,
                    replica ? server.LagBytes : null,
                    replica ? server.Lag?.TotalSeconds : null,
                    DatabaseTopology.TakesReads(server, snapshot.Settings.MaxReplicaLag),
                    server.IsBanned(now) ? server.BannedUntil : null,
                    server.WalLsn?.ToString(),
                    server.Node.Outstanding,
                    server.LastCheckAt,
                    server.LastError));
            }
        }

        return rows;
    }
}
