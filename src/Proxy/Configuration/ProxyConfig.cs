using System.Collections.Immutable;
using Sluice.Routing.Topology;

namespace Sluice.Proxy.Configuration;

public enum PoolMode
{
    Session,
    Transaction,
    Statement,
}

public enum AuthMethod
{
    ScramSha256,
    Md5,
    Password,
    Trust,
}

public enum TlsMode
{
    Disable,
    Allow,
    Require,
}

public enum ServerTlsMode
{
    Disable,
    Prefer,
    Require,
    VerifyFull,
}

public enum ServerRole
{
    Primary,
    Replica,
    Auto,
}

public enum LoadBalancing
{
    LeastOutstanding,
    RoundRobin,
    Random,
}

/// <summary>
/// A validated, immutable snapshot of proxy.toml. Reload builds a new one and swaps it in; nothing mutates it.
/// Durations are <see cref="TimeSpan"/>; <see cref="TimeSpan.Zero"/> means "disabled" for timeouts.
/// </summary>
public sealed record ProxyConfig
{
    /// <summary>The file it was read from, for messages; null when built in code.</summary>
    public string? SourcePath { get; init; }

    public ServerSection Server { get; init; } = new();

    public TlsSection Tls { get; init; } = new();

    public PoolSection Pool { get; init; } = new();

    public LimitsSection Limits { get; init; } = new();

    public RoutingSection Routing { get; init; } = new();

    public ImmutableArray<UserConfig> Users { get; init; } = [];

    public ImmutableArray<DatabaseConfig> Databases { get; init; } = [];

    /// <summary>The other Sluice instances of the same service, for cancel requests that reach the wrong one.</summary>
    public ImmutableArray<PeerConfig> Peers { get; init; } = [];

    public UserConfig? FindUser(string name)
    {
        foreach (var user in Users)
        {
            if (user.Name == name)
            {
                return user;
            }
        }

        return null;
    }

    /// <summary>
    /// The entry of <paramref name="name"/>; else, when there is a wildcard entry (<c>name = "*"</c>), that entry made
    /// into one for <paramref name="name"/>: same servers and settings, the same database name on the servers.
    /// </summary>
    public DatabaseConfig? FindDatabase(string name)
    {
        DatabaseConfig? wildcard = null;
        foreach (var database in Databases)
        {
            if (database.Name == name)
            {
                return database;
            }

            if (database.IsWildcard)
            {
                wildcard = database;
            }
        }

        return wildcard is null || name.Length == 0 ? null : wildcard with { Name = name, BackendDatabase = name, HealthName = DatabaseConfig.Wildcard };
    }

    public PeerConfig? FindPeer(int id)
    {
        foreach (var peer in Peers)
        {
            if (peer.Id == id)
            {
                return peer;
            }
        }

        return null;
    }
}

public sealed record ServerSection
{
    /// <summary>"host:port" strings; "[::1]:6432" for IPv6.</summary>
    public ImmutableArray<string> Listen { get; init; } = ["127.0.0.1:6432"];

    /// <summary>"host:port" of the HTTP endpoints; empty string = no HTTP listener.</summary>
    public string HttpListen { get; init; } = "127.0.0.1:9930";

    public int MaxClientConnections { get; init; } = 10000;

    public string AdminDatabase { get; init; } = "sluice";

    public ImmutableArray<string> AdminUsers { get; init; } = ["admin"];

    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>CIDR blocks ("10.0.0.0/8", "::1/128"); empty = everyone.</summary>
    public ImmutableArray<string> Allow { get; init; } = [];

    /// <summary>The [[users]] entry that looks up users missing from the file with <see cref="AuthQuery"/>; "" = no look-ups.</summary>
    public string AuthUser { get; init; } = "";

    /// <summary>Returns (user name, password hash or SCRAM verifier) for $1; schema-qualified, so search_path cannot redirect it.</summary>
    public string AuthQuery { get; init; } = DefaultAuthQuery;

    /// <summary>How long a looked-up user (or the absence of one) is believed before PostgreSQL is asked again.</summary>
    public TimeSpan AuthCacheTtl { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>This instance's id among its [[peers]], carried in the cancel keys it hands out; 0 = no peering.</summary>
    public int PeerId { get; init; }

    /// <summary>SO_REUSEPORT on the listeners, so a new process can bind the port while the old one drains.</summary>
    public bool ReusePort { get; init; } = OperatingSystem.IsLinux();

    public const string DefaultAuthQuery = "SELECT usename, passwd FROM pg_catalog.pg_shadow WHERE usename = $1";
}

/// <summary>Another Sluice instance of the same service ([[peers]]).</summary>
public sealed record PeerConfig
{
    /// <summary>Its [server] peer_id.</summary>
    public int Id { get; init; }

    public required string Host { get; init; }

    /// <summary>Its PostgreSQL-protocol listener, where cancel requests are forwarded.</summary>
    public int Port { get; init; } = 6432;
}

public sealed record TlsSection
{
    public TlsMode Mode { get; init; } = TlsMode.Disable;

    public string CertFile { get; init; } = "";

    public string KeyFile { get; init; } = "";

    public ServerTlsMode ServerMode { get; init; } = ServerTlsMode.Disable;

    public string ServerCaFile { get; init; } = "";
}

public sealed record PoolSection
{
    public PoolMode Mode { get; init; } = PoolMode.Transaction;

    public int Size { get; init; } = 20;

    public int MinSize { get; init; }

    public TimeSpan CheckoutTimeout { get; init; } = TimeSpan.FromSeconds(5);

    public TimeSpan ServerIdleTimeout { get; init; } = TimeSpan.FromMinutes(10);

    public TimeSpan ServerLifetime { get; init; } = TimeSpan.FromHours(1);

    public string ResetQuery { get; init; } = "DISCARD ALL";

    public bool PreparedStatements { get; init; } = true;

    public int PreparedStatementsPerServer { get; init; } = 500;

    /// <summary>Extra servers a pool may open once a client has waited <see cref="ReservePoolTimeout"/>; 0 = none.</summary>
    public int ReservePoolSize { get; init; }

    public TimeSpan ReservePoolTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Not in the contract's example; how long opening a server connection (TCP + login) may take.</summary>
    public TimeSpan ServerConnectTimeout { get; init; } = TimeSpan.FromSeconds(15);
}

public sealed record LimitsSection
{
    public TimeSpan StatementTimeout { get; init; } = TimeSpan.Zero;

    public TimeSpan IdleInTransactionTimeout { get; init; } = TimeSpan.Zero;

    public TimeSpan ClientIdleTimeout { get; init; } = TimeSpan.Zero;

    public TimeSpan ClientLoginTimeout { get; init; } = TimeSpan.FromSeconds(15);

    public TimeSpan SlowStatementLog { get; init; } = TimeSpan.Zero;

    public int MaxUserClientConnections { get; init; }

    /// <summary>New connections per second per client address (burst of the same size); 0 = no limit.</summary>
    public int ConnectionRate { get; init; }

    /// <summary>How long a connection over a connection rate waits for a token before it is refused.</summary>
    public TimeSpan ConnectionRateWait { get; init; } = TimeSpan.FromMilliseconds(500);
}

public sealed record RoutingSection
{
    public bool ReadWriteSplit { get; init; } = true;

    public TimeSpan MaxReplicaLag { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan LagCheckInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    public TimeSpan HealthCheckInterval { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan BanTime { get; init; } = TimeSpan.FromSeconds(10);

    public LoadBalancing LoadBalancing { get; init; } = LoadBalancing.LeastOutstanding;

    /// <summary>Kept as the older spelling: true reads as <see cref="ReadConsistency"/> = <see cref="ReadConsistency.Session"/>.</summary>
    public bool ReadYourWrites { get; init; }

    public ReadConsistency ReadConsistency { get; init; } = ReadConsistency.Causal;

    /// <summary>How long a read may wait for a replica to catch up before it goes to the primary.</summary>
    public TimeSpan MaxReadWait { get; init; } = TimeSpan.FromMilliseconds(5);

    /// <summary>
    /// How long a transaction that needs the primary waits for one while there is none (a failover under way), and how
    /// long a checkout whose server login failed keeps retrying on the current primary. 5 s covers a fast shutdown and
    /// promotion seen by health checks at the default 1 s interval, with room to spare, and stays well under typical
    /// client command timeouts (Npgsql's 30 s).
    /// </summary>
    public TimeSpan FailoverWait { get; init; } = TimeSpan.FromSeconds(5);
}

public sealed record UserConfig
{
    public required string Name { get; init; }

    /// <summary>A SCRAM verifier, an md5 hash ("md5" + 32 hex) or a plain password; null only with trust.</summary>
    public string? Password { get; init; }

    public AuthMethod Auth { get; init; } = AuthMethod.ScramSha256;

    /// <summary>This user's cap on client connections; null = [limits] max_user_client_connections.</summary>
    public int? MaxClientConnections { get; init; }

    public TimeSpan? StatementTimeout { get; init; }

    public TimeSpan? IdleInTransactionTimeout { get; init; }

    public PoolMode? PoolMode { get; init; }

    public int? PoolSize { get; init; }

    /// <summary>Server connections of this user on one server, across databases and pools; 0 or null = no cap.</summary>
    public int? MaxServerConnections { get; init; }

    /// <summary>New connections per second of this user (burst of the same size); 0 or null = no limit.</summary>
    public int? ConnectionRate { get; init; }

    /// <summary>Server checkouts (transactions) per second of this user (burst of the same size); 0 or null = no limit.</summary>
    public int? TransactionRate { get; init; }

    /// <summary>The user name towards PostgreSQL; null = <see cref="Name"/>.</summary>
    public string? ServerUser { get; init; }

    /// <summary>The password towards PostgreSQL; null = <see cref="Password"/> when that is plain text.</summary>
    public string? ServerPassword { get; init; }

    /// <summary>True for a user that is not in the file but was looked up with auth_query.</summary>
    public bool LookedUp { get; init; }

    /// <summary>
    /// For a looked-up user with a SCRAM verifier: the verifier and the ClientKey its client's proof revealed, which log
    /// in to PostgreSQL without the password. Null otherwise.
    /// </summary>
    public Sluice.Protocol.Authentication.ScramKeys? ServerScramKeys { get; init; }

    /// <summary>Never shows a password, verifier or hash: a record's default ToString would, into any log line.</summary>
    public override string ToString() =>
        $"UserConfig {{ Name = {Name}, Auth = {Auth}, Password = {(Password is null ? "null" : "****")}, ServerUser = {ServerUser ?? "null"}, ServerPassword = {(ServerPassword is null ? "null" : "****")} }}";
}

public sealed record DatabaseConfig
{
    public required string Name { get; init; }

    /// <summary>The database name on the servers; null = <see cref="Name"/>.</summary>
    public string? BackendDatabase { get; init; }

    public int? PoolSize { get; init; }

    public int? MinPoolSize { get; init; }

    public PoolMode? PoolMode { get; init; }

    /// <summary>Client connections of this database; 0 or null = no cap.</summary>
    public int? MaxClientConnections { get; init; }

    /// <summary>Server connections of this database on one server, across users and pools; 0 or null = no cap.</summary>
    public int? MaxServerConnections { get; init; }

    /// <summary>Overrides [pool] reserve_pool_size for this database's pools.</summary>
    public int? ReservePoolSize { get; init; }

    public ImmutableArray<BackendServerConfig> Servers { get; init; } = [];

    /// <summary>Overrides [server] auth_user for this database; "" turns look-ups off here.</summary>
    public string? AuthUser { get; init; }

    /// <summary>Overrides [server] auth_query for this database.</summary>
    public string? AuthQuery { get; init; }

    /// <summary>The name of the entry whose servers' health this database shares: its own, or "*" for one a wildcard made.</summary>
    public string HealthName
    {
        get => field ?? Name;
        init;
    }

    /// <summary>The <c>name = "*"</c> entry: any database name a client asks for, on these servers.</summary>
    public bool IsWildcard => Name == Wildcard;

    /// <summary>The database the proxy logs in to on the servers (the monitor's probes of a wildcard use "postgres").</summary>
    public string ServerDatabase => BackendDatabase ?? (IsWildcard ? "postgres" : Name);

    public const string Wildcard = "*";
}

public sealed record BackendServerConfig
{
    public required string Host { get; init; }

    public int Port { get; init; } = 5432;

    public ServerRole Role { get; init; } = ServerRole.Primary;

    /// <summary>"host:port", the server's name in metrics, logs and the admin console.</summary>
    public string Name => $"{Host}:{Port}";
}
