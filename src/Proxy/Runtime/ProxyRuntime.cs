using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Sluice.Proxy.Admin;
using Sluice.Proxy.AuthQuery;
using Sluice.Proxy.Peering;
using Sluice.Proxy.Clients;
using Sluice.Proxy.Configuration;
using Sluice.Proxy.Consistency;
using Sluice.Proxy.Failover;
using Sluice.Proxy.Health;
using Sluice.Proxy.Limits;
using Sluice.Proxy.Observability;
using Sluice.Proxy.Pooling;
using Sluice.Proxy.Statements;
using Sluice.Routing.Classification;
using Sluice.Proxy.Security;

namespace Sluice.Proxy.Runtime;

/// <summary>
/// What every client session shares: the current config snapshot, the pools, the cancel keys and the connection
/// counts. The config is swapped whole on reload; a session reads it once per decision and never locks.
/// </summary>
internal sealed class ProxyRuntime : IAsyncDisposable
{
    private readonly CapCounter _clientsPerUser = new();
    private volatile ProxyConfig _config;
    private int _clientCount;

    public ProxyRuntime(ProxyConfig config, ILoggerFactory loggerFactory)
    {
        _config = config;
        LoggerFactory = loggerFactory;
        Pools = new PoolRegistry(loggerFactory);
        CancelKeys = new CancelKeyRegistry { PeerId = config.Server.PeerId };
        Credentials = new CredentialCache();
        Metrics = new SluiceMetrics(new RuntimeMetricsSource(this), loggerFactory.CreateLogger<SluiceMetrics>());
        Monitor = new HealthMonitor(config, loggerFactory, failovers: new FailoverHistory(Metrics));
        Health = new HealthState(Monitor, () => _config);
        Security = new ProxySecurity(loggerFactory.CreateLogger<ProxySecurity>());
        Limits = new ClientLimits(Metrics, TimeProvider.System);
        Reads = new CausalReads(Monitor, () => _config, Metrics);
        Failover = new PrimaryWait(Monitor, Pools, () => _config, Metrics);
        _sweeper = new SessionSweeper(this);
        Admin = new AdminConsole(this);
        UserLookup = new UserLookup(Health, loggerFactory.CreateLogger<UserLookup>());
        CancelForwarder = new PeerCancelForwarder(loggerFactory.CreateLogger<PeerCancelForwarder>());
    }

    private readonly SessionSweeper _sweeper;

    /// <summary>The admin console's shared state (pause timeouts, stats periods) and commands.</summary>
    public AdminConsole Admin { get; }

    /// <summary>RELOAD from the admin console: re-reads the config file and applies it; returns an error text, or null. Set by the host.</summary>
    public Func<string?>? ReloadRequested { get; set; }

    /// <summary>SHUTDOWN from the admin console: drains and stops the proxy. Set by the host.</summary>
    public Func<Task>? ShutdownRequested { get; set; }

    public SluiceMetrics Metrics { get; }

    /// <summary>The read/write and session-state classifier, with its per-text cache shared by all sessions.</summary>
    public SqlClassifier Classifier { get; } = new();

    /// <summary>Protocol-level prepared statements shared across clients (transaction mode).</summary>
    public PreparedStatementCache PreparedStatements { get; } = new();

    /// <summary>Certificates, allowlist and the auth-failure throttle; loaded by ProxyServer at startup and on reload.</summary>
    public ProxySecurity Security { get; }

    public HealthState Health { get; }

    /// <summary>routing.read_consistency: counts writes as they complete and holds reads to the writes they must see.</summary>
    public CausalReads Reads { get; }

    /// <summary>routing.failover_wait: transactions that need a primary while there is none wait for one.</summary>
    public PrimaryWait Failover { get; }

    /// <summary>Checks every server; started with the proxy (<see cref="HealthMonitor.Start"/>), given each reloaded config.</summary>
    public HealthMonitor Monitor { get; }

    /// <summary>Cumulative per-database counters for SHOW STATS.</summary>
    public StatsRegistry Stats { get; } = new();

    /// <summary>Set by PAUSE (admin console): /ready answers 503 while paused.</summary>
    public bool IsPaused { get; set; }

    public bool IsReady => !IsDraining && !IsPaused;

    /// <summary>Every logged-in client session, for SHOW CLIENTS, KILL and drain.</summary>
    public ConcurrentDictionary<ClientSession, byte> Sessions { get; } = new();

    public ProxyConfig Config => _config;

    public ILoggerFactory LoggerFactory { get; }

    public PoolRegistry Pools { get; }

    public CancelKeyRegistry CancelKeys { get; }

    public CredentialCache Credentials { get; }

    /// <summary>Users missing from proxy.toml, looked up in PostgreSQL with auth_query (and remembered for auth_cache_ttl).</summary>
    public UserLookup UserLookup { get; }

    /// <summary>Sends cancel requests that carry another instance's peer id on to it; counts them for SHOW PEERS.</summary>
    public PeerCancelForwarder CancelForwarder { get; }

    /// <summary>Cancelled when the proxy starts draining; sessions use it to stop waiting for new work.</summary>
    public CancellationTokenSource Draining { get; } = new();

    public bool IsDraining => Draining.IsCancellationRequested;

    public int ClientCount => Volatile.Read(ref _clientCount);

    public void Apply(ProxyConfig config)
    {
        _config = config;

        // A reload is often the operator's answer to a login problem: users are looked up afresh.
        UserLookup.Clear();
        Pools.Apply(config);
        Monitor.Apply(config);
    }

    /// <summary>Counts a new client connection; false when server.max_client_connections is reached.</summary>
    public bool TryAddClient()
    {
        var max = _config.Server.MaxClientConnections;
        var count = Interlocked.Increment(ref _clientCount);
        if (max > 0 && count > max)
        {
            Interlocked.Decrement(ref _clientCount);
            return false;
        }

        return true;
    }

    public void RemoveClient() => Interlocked.Decrement(ref _clientCount);

    /// <summary>Counts a logged-in client of a user; false when its per-user cap is reached.</summary>
    public bool TryAddUserClient(UserConfig user) =>
        _clientsPerUser.TryAdd(user.Name, user.MaxClientConnections ?? _config.Limits.MaxUserClientConnections);

    public void RemoveUserClient(string user) => _clientsPerUser.Remove(user);

    public int UserClientCount(string user) => _clientsPerUser.Count(user);

    /// <summary>Connection rates, the database client caps and transaction rates a client meets (pooling.md, "Limits").</summary>
    public ClientLimits Limits { get; }

    public async ValueTask DisposeAsync()
    {
        await Monitor.DisposeAsync();
        Admin.Dispose();
        await _sweeper.DisposeAsync();
        await Pools.DisposeAsync();
        await UserLookup.DisposeAsync();
        Draining.Dispose();
    }
}
