using Sluice.Proxy.Peering;
using static Sluice.Proxy.Configuration.Keys.ConfigValues;
using static Sluice.Proxy.Configuration.Keys.ReloadEffect;

namespace Sluice.Proxy.Configuration.Keys;

/// <summary>
/// Every key of proxy.toml, each described once: binding (<see cref="ConfigBinder"/>), SHOW CONFIG, `sluice check`'s
/// unknown-key hints and docs/configuration.md are made from this list. Defaults live in the records' initializers
/// (ProxyConfig.cs) and are read from there. Adding a key: a property on the record, one line here, the key in
/// proxy.toml; then regenerate docs/configuration.md (its top says how).
/// </summary>
internal static class ConfigKeys
{
    public static ConfigKeyGroup<ServerSection> Server { get; } = Section("server", "listeners, connection limits, the admin console, shutdown", config => config.Server)
        .Key("listen", ListenAddresses, s => s.Listen, (s, v) => s with { Listen = v }, Restart, "PostgreSQL wire protocol listeners; IPv6 as \"[::1]:6432\"; port 0 picks a free port")
        .Key("http_listen", HttpListenAddress, s => s.HttpListen, (s, v) => s with { HttpListen = v }, Restart, "/metrics, /health, /ready, /primary, /replica; \"\" turns HTTP off")
        .Key("max_client_connections", Integer(1), s => s.MaxClientConnections, (s, v) => s with { MaxClientConnections = v }, NewClients, "over it: FATAL 53300 too_many_connections")
        .Key("admin_database", NonEmptyText, s => s.AdminDatabase, (s, v) => s with { AdminDatabase = v }, NewClients, "virtual database of the admin console")
        .Key("admin_users", TextList, s => s.AdminUsers, (s, v) => s with { AdminUsers = v }, NewClients, "users allowed on the admin console")
        .Key("shutdown_timeout", Duration(), s => s.ShutdownTimeout, (s, v) => s with { ShutdownTimeout = v }, Running, "SIGTERM/SIGINT: how long running transactions may go on")
        .Key("allow", CidrBlocks, s => s.Allow, (s, v) => s with { Allow = v }, NewClients, "CIDR allowlist of client addresses, e.g. [\"127.0.0.0/8\", \"::1/128\"]; empty = everyone")
        .Key("auth_user", Text, s => s.AuthUser, (s, v) => s with { AuthUser = v }, NewClients, "a [[users]] entry (with a plain password or none) as whom users missing from this file are looked up in PostgreSQL with auth_query; \"\" = no look-ups")
        .Key("auth_query", NonEmptyText, s => s.AuthQuery, (s, v) => s with { AuthQuery = v }, NewClients, "returns (name, password hash or SCRAM verifier) for the user name $1, run on the database's primary; keep it schema-qualified")
        .Key("auth_cache_ttl", Duration(), s => s.AuthCacheTtl, (s, v) => s with { AuthCacheTtl = v }, NewClients, "how long a looked-up user, or its absence, is believed; a dropped role or changed password takes effect after this; \"0\" = ask on every login")
        .Key("peer_id", Integer(0, PeerCancelKeys.MaxPeerId), s => s.PeerId, (s, v) => s with { PeerId = v }, Restart, "this instance's id in [[peers]], carried in its cancel keys so another instance can forward a cancel here; 0 = no peering")
        .Key("reuse_port", Bool, s => s.ReusePort, (s, v) => s with { ReusePort = v }, Restart, "SO_REUSEPORT on the listeners: a new process may bind the port while the old one drains (rolling restart); default true on Linux");

    public static ConfigKeyGroup<TlsSection> Tls { get; } = Section("tls", "TLS towards clients (SSLRequest is answered 'N' when off) and towards servers", config => config.Tls)
        .Key("mode", Enum(ConfigNames.TlsMode), t => t.Mode, (t, v) => t with { Mode = v }, NewClients, "towards clients; allow and require need cert_file and key_file")
        .Key("cert_file", Text, t => t.CertFile, (t, v) => t with { CertFile = v }, NewClients, "PEM certificate (chain); relative to the config file's folder")
        .Key("key_file", Text, t => t.KeyFile, (t, v) => t with { KeyFile = v }, NewClients, "PEM private key")
        .Key("server_mode", Enum(ConfigNames.ServerTlsMode), t => t.ServerMode, (t, v) => t with { ServerMode = v }, NewClients, "towards servers, for server connections opened after a reload")
        .Key("server_ca_file", Text, t => t.ServerCaFile, (t, v) => t with { ServerCaFile = v }, NewClients, "CA bundle to verify servers with; \"\" = the system's");

    public static ConfigKeyGroup<PoolSection> Pool { get; } = Section("pool", "pool defaults; a [[databases]] or [[users]] entry may override some", config => config.Pool)
        .Key("mode", Enum(ConfigNames.PoolMode), p => p.Mode, (p, v) => p with { Mode = v }, NewClients, "how long a client keeps a server connection: its session, a transaction, a statement")
        .Key("size", Integer(1), p => p.Size, (p, v) => p with { Size = v }, Running, "max server connections per (database, user, server)")
        .Key("min_size", Integer(0), p => p.MinSize, (p, v) => p with { MinSize = v }, Running, "server connections kept open even when idle")
        .Key("checkout_timeout", Duration(), p => p.CheckoutTimeout, (p, v) => p with { CheckoutTimeout = v }, Running, "a client waiting longer for a server gets 53300")
        .Key("server_idle_timeout", Duration(), p => p.ServerIdleTimeout, (p, v) => p with { ServerIdleTimeout = v }, Running, "idle server connections above min_size are closed after this")
        .Key("server_lifetime", Duration(), p => p.ServerLifetime, (p, v) => p with { ServerLifetime = v }, Running, "server connections are replaced after this")
        .Key("server_connect_timeout", Duration(), p => p.ServerConnectTimeout, (p, v) => p with { ServerConnectTimeout = v }, Running, "opening a server connection (TCP + login) may take this long")
        .Key("reset_query", Text, p => p.ResetQuery, (p, v) => p with { ResetQuery = v }, Running, "run when a session-mode client leaves")
        .Key("prepared_statements", Bool, p => p.PreparedStatements, (p, v) => p with { PreparedStatements = v }, Running, "protocol-level named statements work in transaction mode")
        .Key("prepared_statements_per_server", Integer(1), p => p.PreparedStatementsPerServer, (p, v) => p with { PreparedStatementsPerServer = v }, Running, "LRU size of statements kept prepared on one server")
        .Key("reserve_pool_size", Integer(0), p => p.ReservePoolSize, (p, v) => p with { ReservePoolSize = v }, Running, "servers a pool may open beyond its size once a client has waited reserve_pool_timeout; 0 = none")
        .Key("reserve_pool_timeout", Duration(), p => p.ReservePoolTimeout, (p, v) => p with { ReservePoolTimeout = v }, Running, "how long a pool's oldest waiting client waits before the reserve pool opens");

    public static ConfigKeyGroup<LimitsSection> Limits { get; } = Section("limits", "limits the proxy enforces itself", config => config.Limits)
        .Key("statement_timeout", Duration(), l => l.StatementTimeout, (l, v) => l with { StatementTimeout = v }, Running, "cancels the running statement; the client gets 57014")
        .Key("idle_in_transaction_timeout", Duration(), l => l.IdleInTransactionTimeout, (l, v) => l with { IdleInTransactionTimeout = v }, Running, "the client gets 25P03 and is disconnected")
        .Key("client_idle_timeout", Duration(), l => l.ClientIdleTimeout, (l, v) => l with { ClientIdleTimeout = v }, Running, "idle clients (outside a transaction) are disconnected")
        .Key("client_login_timeout", Duration(), l => l.ClientLoginTimeout, (l, v) => l with { ClientLoginTimeout = v }, NewClients, "a connection that has not logged in by then is closed")
        .Key("slow_statement_log", Duration(), l => l.SlowStatementLog, (l, v) => l with { SlowStatementLog = v }, Running, "statements slower than this are logged, literals redacted")
        .Key("max_user_client_connections", Integer(0), l => l.MaxUserClientConnections, (l, v) => l with { MaxUserClientConnections = v }, NewClients, "default per-user cap on client connections, 0 = none")
        .Key("connection_rate", Integer(0), l => l.ConnectionRate, (l, v) => l with { ConnectionRate = v }, NewClients, "new connections per second per client address (burst of the same size), checked before any server is touched; 0 = no limit")
        .Key("connection_rate_wait", Duration(), l => l.ConnectionRateWait, (l, v) => l with { ConnectionRateWait = v }, NewClients, "a connection over a connection_rate waits this long for its turn, then gets 53300; \"0\" = refuse at once");

    public static ConfigKeyGroup<RoutingSection> Routing { get; } = Section("routing", "read/write split, replica lag budget, health checks", config => config.Routing)
        .Key("read_write_split", Bool, r => r.ReadWriteSplit, (r, v) => r with { ReadWriteSplit = v }, Running, "false: everything goes to the primary")
        .Key("max_replica_lag", Duration(), r => r.MaxReplicaLag, (r, v) => r with { MaxReplicaLag = v }, Running, "lag budget: a replica further behind gets no reads")
        .Key("lag_check_interval", Duration(allowZero: false), r => r.LagCheckInterval, (r, v) => r with { LagCheckInterval = v }, Running, "how often replica lag is measured")
        .Key("health_check_interval", Duration(allowZero: false), r => r.HealthCheckInterval, (r, v) => r with { HealthCheckInterval = v }, Running, "how often every server is probed")
        .Key("ban_time", Duration(), r => r.BanTime, (r, v) => r with { BanTime = v }, Running, "an unreachable server is skipped this long")
        .Key("load_balancing", Enum(ConfigNames.LoadBalancing), r => r.LoadBalancing, (r, v) => r with { LoadBalancing = v }, Running, "how reads are spread over the replicas")
        .Key("read_consistency", Enum(ConfigNames.ReadConsistency), r => r.ReadConsistency, (r, v) => r with { ReadConsistency = v }, Running, "what a replica read sees: every write completed through this Sluice before it (causal), the client's own (session), or only what the lag budget allows (lag_budget)")
        .Key("max_read_wait", Duration(), r => r.MaxReadWait, (r, v) => r with { MaxReadWait = v }, Running, "how long a read may wait for a replica to catch up before it goes to the primary")
        .Key("failover_wait", Duration(), r => r.FailoverWait, (r, v) => r with { FailoverWait = v }, Running, "a transaction that needs the primary while there is none (or whose server login failed) waits this long for a writable one, then gets 08006; \"0\" = fail at once")
        .Key("read_your_writes", Bool, r => r.ReadYourWrites, (r, v) => r with { ReadYourWrites = v }, Running, "older spelling of read_consistency = \"session\"");

    public static ConfigKeyGroup<UserConfig> Users { get; } = new ConfigKeyGroup<UserConfig>(
            "users", "one [[users]] table per user that may log in", () => new UserConfig { Name = "" },
            config => config.Users.Select(user => ($"users.{user.Name}", user)), isEntry: true)
        .Custom("name", NonEmptyText.Type, null, _ => null, NewClients, "the user name clients log in with; unique")
        .Override("password", Secret, u => u.Password, (u, v) => u with { Password = v }, "none: required unless auth = \"trust\"", NewClients, "a SCRAM verifier from `sluice passwd`, an md5 hash, or plain text; not needed with auth = \"trust\"")
        .Key("auth", Enum(ConfigNames.AuthMethod), u => u.Auth, (u, v) => u with { Auth = v }, NewClients, "how clients prove the password")
        .Override("max_client_connections", Integer(0), u => u.MaxClientConnections, (u, v) => u with { MaxClientConnections = v }, "[limits] max_user_client_connections", NewClients, "this user's cap on client connections")
        .Override("statement_timeout", Duration(), u => u.StatementTimeout, (u, v) => u with { StatementTimeout = v }, "[limits] statement_timeout", Running, "overrides [limits] statement_timeout")
        .Override("idle_in_transaction_timeout", Duration(), u => u.IdleInTransactionTimeout, (u, v) => u with { IdleInTransactionTimeout = v }, "[limits] idle_in_transaction_timeout", Running, "overrides [limits] idle_in_transaction_timeout")
        .Override("pool_mode", Enum(ConfigNames.PoolMode), u => u.PoolMode, (u, v) => u with { PoolMode = v }, "the database's pool_mode, then [pool] mode", NewClients, "overrides the pool mode for this user's pools")
        .Override("pool_size", Integer(1), u => u.PoolSize, (u, v) => u with { PoolSize = v }, "the database's pool_size, then [pool] size", Running, "overrides the pool size for this user's pools")
        .Override("max_server_connections", Integer(0), u => u.MaxServerConnections, (u, v) => u with { MaxServerConnections = v }, "0 (no cap)", Running, "this user's server connections on one server, across databases and pools; waiting for one is bounded by checkout_timeout")
        .Override("connection_rate", Integer(0), u => u.ConnectionRate, (u, v) => u with { ConnectionRate = v }, "0 (no limit)", NewClients, "new connections per second of this user (burst of the same size), waiting up to [limits] connection_rate_wait")
        .Override("transaction_rate", Integer(0), u => u.TransactionRate, (u, v) => u with { TransactionRate = v }, "0 (no limit)", Running, "transactions per second of this user (burst of the same size); the wait counts against checkout_timeout")
        .Override("server_user", NonEmptyText, u => u.ServerUser, (u, v) => u with { ServerUser = v }, "name", NewClients, "the role on PostgreSQL")
        .Override("server_password", Secret, u => u.ServerPassword, (u, v) => u with { ServerPassword = v }, "password, when that is plain text", NewClients, "its password on PostgreSQL (plain text or an md5 hash, never a SCRAM verifier)");

    public static ConfigKeyGroup<DatabaseConfig> Databases { get; } = new ConfigKeyGroup<DatabaseConfig>(
            "databases", "one [[databases]] table per database clients may connect to", () => new DatabaseConfig { Name = "" },
            config => config.Databases.Select(database => ($"databases.{database.Name}", database)), isEntry: true)
        .Custom("name", NonEmptyText.Type, null, _ => null, NewClients, "the name clients connect to; unique; \"*\" serves every name no other entry has, as the same database name on its servers")
        .Override("backend_database", NonEmptyText, d => d.BackendDatabase, (d, v) => d with { BackendDatabase = v }, "name", NewClients, "the database name on the servers")
        .Override("pool_size", Integer(1), d => d.PoolSize, (d, v) => d with { PoolSize = v }, "[pool] size", Running, "overrides [pool] size")
        .Override("min_pool_size", Integer(0), d => d.MinPoolSize, (d, v) => d with { MinPoolSize = v }, "[pool] min_size", Running, "overrides [pool] min_size")
        .Override("pool_mode", Enum(ConfigNames.PoolMode), d => d.PoolMode, (d, v) => d with { PoolMode = v }, "[pool] mode", NewClients, "overrides [pool] mode")
        .Override("max_client_connections", Integer(0), d => d.MaxClientConnections, (d, v) => d with { MaxClientConnections = v }, "0 (no cap)", NewClients, "client connections of this database; over it: FATAL 53300 naming the database")
        .Override("max_server_connections", Integer(0), d => d.MaxServerConnections, (d, v) => d with { MaxServerConnections = v }, "0 (no cap)", Running, "this database's server connections on one server, across users and pools; waiting for one is bounded by checkout_timeout")
        .Override("reserve_pool_size", Integer(0), d => d.ReservePoolSize, (d, v) => d with { ReservePoolSize = v }, "[pool] reserve_pool_size", Running, "overrides [pool] reserve_pool_size")
        .Override("auth_user", Text, d => d.AuthUser, (d, v) => d with { AuthUser = v }, "[server] auth_user", NewClients, "overrides [server] auth_user; \"\" = no look-ups for this database")
        .Override("auth_query", NonEmptyText, d => d.AuthQuery, (d, v) => d with { AuthQuery = v }, "[server] auth_query", NewClients, "overrides [server] auth_query")
        .Custom(
            "servers", "array of server tables", null,
            d => string.Join(", ", d.Servers.Select(s => $"{s.Name} {ConfigNames.ServerRole.Format(s.Role)}")),
            Running, "the database's servers, e.g. [ { host = \"127.0.0.1\", port = 5432, role = \"primary\" } ]");

    /// <summary>The tables in <see cref="DatabaseConfig.Servers"/>; SHOW CONFIG lists them under databases.NAME.servers.</summary>
    public static ConfigKeyGroup<BackendServerConfig> Servers { get; } = new ConfigKeyGroup<BackendServerConfig>(
            "databases.servers", "one inline table per server of a database", () => new BackendServerConfig { Host = "" },
            _ => [], isEntry: true)
        .Custom("host", NonEmptyText.Type, null, s => s.Host, Running, "host name or address of the server")
        .Key("port", Integer(1, 65535), s => s.Port, (s, v) => s with { Port = v }, Running, "its port")
        .Key("role", Enum(ConfigNames.ServerRole), s => s.Role, (s, v) => s with { Role = v }, Running, "auto: found by pg_is_in_recovery(); at most one primary");

    public static ConfigKeyGroup<PeerConfig> Peers { get; } = new ConfigKeyGroup<PeerConfig>(
            "peers", "one [[peers]] table per other Sluice instance of the same service (cancel forwarding)", () => new PeerConfig { Host = "" },
            config => config.Peers.Select(peer => ($"peers.{peer.Id}", peer)), isEntry: true)
        .Custom("id", "integer (1 to " + PeerCancelKeys.MaxPeerId + ")", null, _ => null, Running, "its [server] peer_id; unique")
        .Custom("host", NonEmptyText.Type, null, p => p.Host, Running, "host name or address of its PostgreSQL-protocol listener")
        .Key("port", Integer(1, 65535), p => p.Port, (p, v) => p with { Port = v }, Running, "its port");

    /// <summary>Every table of proxy.toml, in the order the docs and SHOW CONFIG list them.</summary>
    public static IReadOnlyList<ConfigKeyGroup> All { get; } = [Server, Tls, Pool, Limits, Routing, Users, Databases, Servers, Peers];

    private static ConfigKeyGroup<TSection> Section<TSection>(string name, string help, Func<ProxyConfig, TSection> of)
        where TSection : class, new() =>
        new(name, help, () => new TSection(), config => [(name, of(config))], isEntry: false);
}
