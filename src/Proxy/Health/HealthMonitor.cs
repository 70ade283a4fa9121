using System.Collections.Frozen;
using Microsoft.Extensions.Logging;
using Sluice.Proxy.Configuration;
using Sluice.Proxy.Consistency;
using Sluice.Proxy.Failover;
using Sluice.Routing.Topology;

namespace Sluice.Proxy.Health;

/// <summary>
/// Watches every (database, server) of the config with one <see cref="ServerProbeLoop"/> each and keeps the
/// <see cref="TopologySnapshot"/> the routing decisions are made from. Each check's outcome makes a new snapshot that is
/// swapped in with a compare-and-swap; readers take <see cref="Topology"/> and never lock.
/// </summary>
internal sealed partial class HealthMonitor : IAsyncDisposable
{
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly Dictionary<(string Database, string Server), ServerProbeLoop> _loops = [];
    private readonly List<Task> _retiring = [];
    private readonly HashSet<(string Database, string Server)> _unmonitoredLogged = [];

    // The loops of each database, for CatchUp on the write and read paths: replaced (never changed) under _gate, read
    // without it.
    private FrozenDictionary<string, ServerProbeLoop[]> _loopsByDatabase = FrozenDictionary<string, ServerProbeLoop[]>.Empty;
    private TopologySnapshot _topology;
    private ProxyConfig _config;
    private bool _started;
    private bool _disposed;

    public HealthMonitor(ProxyConfig config, ILoggerFactory loggerFactory, TimeProvider? timeProvider = null, FailoverHistory? failovers = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _logger = loggerFactory.CreateLogger<HealthMonitor>();
        Time = timeProvider ?? TimeProvider.System;
        _config = config;
        _topology = TopologyLayout.Snapshot(config, previous: null);
        Failovers = failovers ?? new FailoverHistory();
    }

    /// <summary>The current snapshot: read it once per decision.</summary>
    public TopologySnapshot Topology => Volatile.Read(ref _topology);

    /// <summary>The clock check times and bans are measured with.</summary>
    public TimeProvider Time { get; }

    /// <summary>Every database's write count and the primary positions that cover it; primary checks raise them.</summary>
    public WriteFloors Floors { get; } = new();

    /// <summary>Starts checking every configured server (the first checks run at once).</summary>
    public void Start()
    {
        lock (_gate)
        {
            if (_started || _disposed)
            {
                return;
            }

            _started = true;
            ReconcileLoops();
        }
    }

    /// <summary>
    /// A reloaded config: kept servers keep what is known of them, new ones start unchecked and get a check loop, removed
    /// ones lose theirs. New credentials, intervals and [routing] settings apply from each loop's next check.
    /// </summary>
    public void Apply(ProxyConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        lock (_gate)
        {
            Volatile.Write(ref _config, config);
            Swap(current => TopologyLayout.Snapshot(config, current));
            if (_started && !_disposed)
            {
                ReconcileLoops();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        List<Task> stopping;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            stopping = [.. _retiring, .. _loops.Values.Select(loop => loop.DisposeAsync().AsTask())];
            _loops.Clear();
            _retiring.Clear();
            Volatile.Write(ref _loopsByDatabase, FrozenDictionary<string, ServerProbeLoop[]>.Empty);
        }

        await Task.WhenAll(stopping);
    }

    /// <summary>
    /// A check of a server succeeded; <paramref name="sentAt"/> is when its query was sent, and
    /// <paramref name="writesBefore"/> how many write transactions of the database had completed by then: a primary's
    /// position covers them all.
    /// </summary>
    internal void ReportCheck(string database, string server, ServerProbe probe, DateTimeOffset sentAt, long writesBefore)
    {
        Record(database, server, snapshot => snapshot.RecordCheck(database, server, probe, sentAt), login: null);
        var floor = Floors.Of(database);
        if (!probe.InRecovery && floor.Raise(writesBefore, probe.WalLsn)
            && Volatile.Read(ref _config).Routing.ReadConsistency != ReadConsistency.LagBudget)
        {
            // A new floor: the replicas are asked at once whether they replayed it, before the next read needs to know.
            CatchUp(database);
        }

        floor.Checked();
    }

    /// <summary>A check of a server failed (refused, timed out, login or query failed).</summary>
    internal void ReportFailure(string database, string server, string error, string login)
    {
        var at = Time.GetUtcNow();
        Record(database, server, snapshot => snapshot.RecordFailure(database, server, error, at), login);
        Floors.Of(database).Checked();
    }

    /// <summary>
    /// Checks the servers of <paramref name="database"/> whose fresher position could let reads held to every write so
    /// far go to a replica (<see cref="DatabaseTopology.NeedsFresherPosition"/>), as soon as each can: at once, or right
    /// after the check under way, instead of at its next interval. Called when a write completes, when a primary check
    /// raises the floor, and while reads wait. Banned servers stay banned.
    /// </summary>
    public void CatchUp(string database)
    {
        var snapshot = Topology;
        if (!Volatile.Read(ref _loopsByDatabase).TryGetValue(database, out var loops) || snapshot.Find(database) is not { } topology)
        {
            return;
        }

        var floor = Floors.Of(database);
        var fence = floor.Fence;
        var writes = floor.Writes;
        foreach (var loop in loops)
        {
            if (topology.Find(loop.Server) is { } server && DatabaseTopology.NeedsFresherPosition(server, snapshot.Settings, fence, writes))
            {
                loop.CheckSoon();
            }
        }
    }

    /// <summary>No configured user can log in to check the server: it stays unchecked (its configured role is trusted).</summary>
    internal void ReportUnmonitored(string database, string server)
    {
        lock (_gate)
        {
            if (!_unmonitoredLogged.Add((database, server)))
            {
                return;
            }
        }

        LogUnmonitored(_logger, server, database);
    }

    private void Record(string database, string server, Func<TopologySnapshot, TopologySnapshot> change, string? login)
    {
        var (before, after) = Swap(change);
        if (before.Find(database) is { } oldDatabase && after.Find(database) is { } newDatabase
            && oldDatabase.Find(server) is { } oldServer && newDatabase.Find(server) is { } newServer)
        {
            LogTransitions(after.Settings, oldDatabase, newDatabase, oldServer, newServer, login);
        }

        ObserveFailover(database);
    }

    private (TopologySnapshot Before, TopologySnapshot After) Swap(Func<TopologySnapshot, TopologySnapshot> change)
    {
        while (true)
        {
            var current = Volatile.Read(ref _topology);
            var next = change(current);
            if (ReferenceEquals(next, current))
            {
                return (current, next);
            }

            if (ReferenceEquals(Interlocked.CompareExchange(ref _topology, next, current), current))
            {
                SignalChanged();
                return (current, next);
            }
        }
    }

    /// <summary>One loop per configured server; under <see cref="_gate"/>.</summary>
    private void ReconcileLoops()
    {
        var config = _config;
        var interval = TopologyLayout.CheckInterval(config.Routing);
        var timeout = TopologyLayout.CheckTimeout(config.Routing);
        var wanted = new HashSet<(string, string)>();

        // A reload may have fixed (or broken) the credentials: warn again about servers that still cannot be checked.
        _unmonitoredLogged.Clear();
        foreach (var database in config.Databases)
        {
            foreach (var server in database.Servers)
            {
                var key = (database.Name, server.Name);
                if (!wanted.Add(key))
                {
                    continue;
                }

                var login = MonitorLogin.Choose(config, database, server);
                var target = new ProbeTarget(
                    login is null ? null : MonitorLogin.ConnectionString(login, config.Tls, timeout),
                    login?.ToString() ?? "(no user to log in with)",
                    interval,
                    timeout);
                if (_loops.TryGetValue(key, out var loop))
                {
                    loop.Target = target;
                    continue;
                }

                loop = new ServerProbeLoop(this, database.Name, server.Name, target);
                _loops.Add(key, loop);
                loop.Start();
            }
        }

        foreach (var (key, loop) in _loops.Where(pair => !wanted.Contains(pair.Key)).ToList())
        {
            _loops.Remove(key);
            _retiring.RemoveAll(task => task.IsCompleted);
            _retiring.Add(loop.DisposeAsync().AsTask());
        }

        Volatile.Write(ref _loopsByDatabase, _loops.Values
            .GroupBy(loop => loop.Database, StringComparer.Ordinal)
            .ToFrozenDictionary(group => group.Key, group => group.ToArray(), StringComparer.Ordinal));
    }
}
