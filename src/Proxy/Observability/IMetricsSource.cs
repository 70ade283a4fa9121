namespace Sluice.Proxy.Observability;

/// <summary>
/// The proxy's current state, read when <c>/metrics</c> is scraped (never on the data path). Each method returns a
/// snapshot; one entry becomes one sample, so entries must not repeat a label set (a repeat overwrites the earlier
/// value). Called on the scraping thread, concurrently with the data path: implementations read their counters
/// without taking locks the data path holds for long.
/// </summary>
public interface IMetricsSource
{
    /// <summary>Feeds <c>sluice_client_connections{database,user,state}</c>.</summary>
    IEnumerable<ClientConnectionsGauge> GetClientConnections();

    /// <summary>Feeds <c>sluice_server_connections{database,user,server,role,state}</c>.</summary>
    IEnumerable<ServerConnectionsGauge> GetServerConnections();

    /// <summary>Feeds <c>sluice_pool_waiting_clients{database,user}</c>.</summary>
    IEnumerable<PoolWaitingClientsGauge> GetPoolWaitingClients();

    /// <summary>
    /// Feeds <c>sluice_clients_pinned{database,user}</c>: clients tied to their server by session state (LISTEN, an
    /// advisory lock, …). The default reports none, for sources that know nothing of pinning.
    /// </summary>
    IEnumerable<PinnedClientsGauge> GetPinnedClients() => [];

    /// <summary>
    /// Feeds <c>sluice_server_up{database,server,role}</c> and, for entries with a measured lag,
    /// <c>sluice_replica_lag_seconds{database,server}</c> and <c>sluice_replica_lag_bytes{database,server}</c>.
    /// Called once per scraped metric, i.e. up to three times per scrape.
    /// </summary>
    IEnumerable<ServerStatusGauge> GetServers();

    /// <summary>
    /// Feeds <c>sluice_read_floor_lsn{database}</c>: the latest primary position known to cover the database's writes
    /// through the proxy. The default reports none.
    /// </summary>
    IEnumerable<ReadFloorGauge> GetReadFloors() => [];
}

/// <summary>The read floor of one database, as a WAL byte offset.</summary>
public readonly record struct ReadFloorGauge(string Database, long Lsn);

/// <summary>Client connections of one (database, user) in one state.</summary>
/// <param name="Database">The database name clients connect to.</param>
/// <param name="User">The user name clients log in as.</param>
/// <param name="Count">How many connections.</param>
/// <param name="State">PgBouncer's client states in lower case: <c>active</c>, <c>waiting</c>, <c>idle</c>, <c>login</c>.</param>
public readonly record struct ClientConnectionsGauge(string Database, string User, string State, long Count);

/// <summary>Server connections of one pool (database, user, server) in one state.</summary>
/// <param name="Database">The database name clients connect to.</param>
/// <param name="User">The user name clients log in as.</param>
/// <param name="Count">How many connections.</param>
/// <param name="Server">The server as <c>host:port</c>.</param>
/// <param name="Role"><c>primary</c> or <c>replica</c> (as currently detected for <c>auto</c>).</param>
/// <param name="State">PgBouncer's server states in lower case: <c>active</c>, <c>idle</c>, <c>used</c>, <c>tested</c>, <c>login</c>.</param>
public readonly record struct ServerConnectionsGauge(string Database, string User, string Server, string Role, string State, long Count);

/// <summary>Clients of one (database, user) waiting for a server connection.</summary>
public readonly record struct PoolWaitingClientsGauge(string Database, string User, long Count);

/// <summary>Pinned clients of one (database, user).</summary>
public readonly record struct PinnedClientsGauge(string Database, string User, long Count);

/// <summary>Health and replication lag of one server of one database.</summary>
/// <param name="Database">The database name clients connect to.</param>
/// <param name="Server">The server as <c>host:port</c>.</param>
/// <param name="Role"><c>primary</c> or <c>replica</c>.</param>
/// <param name="Up">Reachable and passing health checks (not banned).</param>
/// <param name="LagSeconds">Replay lag in seconds; null for a primary or while unknown (no sample is written).</param>
/// <param name="LagBytes">Replay lag in WAL bytes; null for a primary or while unknown (no sample is written).</param>
/// <param name="WalLsn">A primary's insert or a replica's replay position as a WAL byte offset (<c>sluice_server_wal_lsn</c>); null while unknown.</param>
public readonly record struct ServerStatusGauge(string Database, string Server, string Role, bool Up, double? LagSeconds = null, long? LagBytes = null, long? WalLsn = null);
