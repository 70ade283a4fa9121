using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Sluice.Protocol.Authentication;
using Sluice.Proxy.Configuration;
using Sluice.Proxy.Limits;
using Sluice.Proxy.Servers;

namespace Sluice.Proxy.Pooling;

/// <summary>
/// Every pool of the proxy, keyed by (database, user, server). Pools are made on first use and kept across reloads
/// while their login target stays the same, so a reload never drops clients of unchanged pools.
/// </summary>
internal sealed class PoolRegistry : IAsyncDisposable
{
    private readonly ConcurrentDictionary<PoolKey, ServerPool> _pools = new();
    private readonly ILoggerFactory _loggerFactory;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _pauseLock = new();
    private readonly HashSet<string> _pausedDatabases = new(StringComparer.Ordinal);
    private bool _pauseAll;
    private volatile bool _anyPaused;
    private Task? _maintenance;

    public PoolRegistry(ILoggerFactory loggerFactory)
    {
        _loggerFactory = loggerFactory;
    }

    /// <summary>Where pools created from now on open server connections; null for TCP. Relay tests use in-memory pairs.</summary>
    public ServerConnectionOpener? OpenConnection { get; set; }

    public IEnumerable<ServerPool> Pools => _pools.Values;

    /// <summary>The database and user caps on server connections, shared by the pools.</summary>
    public ServerCapRegistry ServerCaps { get; } = new();

    public ServerPool GetPool(ProxyConfig config, DatabaseConfig database, UserConfig user, BackendServerConfig server)
    {
        var key = new PoolKey(database.Name, user.Name, server.Name);
        var settings = PoolSettings.Resolve(config, database, user);
        var target = LoginTarget(database, user, server);
        while (true)
        {
            if (_pools.TryGetValue(key, out var existing))
            {
                if (existing.Target == target)
                {
                    return existing;
                }

                // Credentials or backend database changed under a reload: the old pool goes, a new one comes.
                if (_pools.TryUpdate(key, NewPool(key, target, settings, CapsFor(database, user, server)), existing))
                {
                    existing.Retire();
                }

                continue;
            }

            var pool = _pools.GetOrAdd(
                key,
                static (k, state) => state.Registry.NewPool(k, state.Target, state.Settings, state.Registry.CapsFor(state.Database, state.User, state.Server)),
                (Registry: this, Target: target, Settings: settings, Database: database, User: user, Server: server));
            if (pool.Target == target)
            {
                // A pool made while PAUSE was being applied may have been missed by it.
                if (_anyPaused && !pool.IsPaused && IsPaused(pool.Database))
                {
                    pool.Pause();
                }

                return pool;
            }
        }
    }

    /// <summary>Applies a reloaded config: new settings for kept pools; pools of removed users, databases or servers retire.</summary>
    /// <summary>A server of <paramref name="database"/> went away: clients queued for its connections look elsewhere (<see cref="ServerPool.FailWaiters"/>).</summary>
    public void FailWaiters(string database, string server, string reason)
    {
        foreach (var pool in _pools.Values)
        {
            if (pool.Database == database && pool.Target.ServerName == server)
            {
                pool.FailWaiters(reason);
            }
        }
    }

    public void Apply(ProxyConfig config)
    {
        foreach (var (key, pool) in _pools)
        {
            var database = config.FindDatabase(key.Database);
            var user = config.FindUser(key.User);
            var server = database?.Servers.FirstOrDefault(s => s.Name == key.Server);
            if (user is null && pool.Target.LookedUp && database is not null && server is not null && AuthQuery.UserLookup.PolicyFor(config, database) is not null)
            {
                // A looked-up user is in no file: its pool stays while look-ups are on for the database. Its next login
                // brings credentials again, and a changed password makes a new pool then (GetPool).
                pool.Settings = PoolSettings.Resolve(config, database, new UserConfig { Name = key.User, LookedUp = true });
                continue;
            }

            if (database is null || user is null || server is null || LoginTarget(database, user, server) != pool.Target)
            {
                if (_pools.TryRemove(new KeyValuePair<PoolKey, ServerPool>(key, pool)))
                {
                    pool.Retire();
                }

                continue;
            }

            pool.Settings = PoolSettings.Resolve(config, database, user);
            CapsFor(database, user, server);
        }
    }

    /// <summary>True while PAUSE holds any database.</summary>
    public bool AnyPaused => _anyPaused;

    /// <summary>True while PAUSE holds <paramref name="database"/> (paused by name, or everything paused).</summary>
    public bool IsPaused(string database)
    {
        lock (_pauseLock)
        {
            return _pauseAll || _pausedDatabases.Contains(database);
        }
    }

    /// <summary>PAUSE [db]: every pool of the database (null: of every database), including pools made later, holds new transactions.</summary>
    public void Pause(string? database)
    {
        lock (_pauseLock)
        {
            if (database is null)
            {
                _pauseAll = true;
            }
            else
            {
                _pausedDatabases.Add(database);
            }

            _anyPaused = true;
        }

        foreach (var pool in _pools.Values)
        {
            if (database is null || pool.Database == database)
            {
                pool.Pause();
            }
        }
    }

    /// <summary>
    /// RESUME [db]: lets the database's held clients go on (null: every database). Resuming one database while everything
    /// is paused keeps the others of <paramref name="allDatabases"/> paused.
    /// </summary>
    public void Resume(string? database, IEnumerable<string> allDatabases)
    {
        lock (_pauseLock)
        {
            if (database is null)
            {
                _pauseAll = false;
                _pausedDatabases.Clear();
            }
            else
            {
                if (_pauseAll)
                {
                    _pauseAll = false;
                    _pausedDatabases.UnionWith(allDatabases);
                }

                _pausedDatabases.Remove(database);
            }

            _anyPaused = _pauseAll || _pausedDatabases.Count > 0;
        }

        foreach (var pool in _pools.Values)
        {
            if (pool.IsPaused && !IsPaused(pool.Database))
            {
                pool.Resume();
            }
        }
    }

    /// <summary>Keeps min_size warm and closes servers past their idle timeout or lifetime, every second.</summary>
    public void StartMaintenance(Func<ProxyConfig> config)
    {
        _maintenance = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
            try
            {
                while (await timer.WaitForNextTickAsync(_stopping.Token))
                {
                    WarmConfiguredPools(config());
                    foreach (var pool in _pools.Values)
                    {
                        await pool.MaintainAsync(_stopping.Token);
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        });
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        if (_maintenance is not null)
        {
            await _maintenance;
        }

        foreach (var pool in _pools.Values)
        {
            pool.Retire();
        }

        _stopping.Dispose();
    }

    /// <summary>The credentials towards PostgreSQL: server_user/server_password, else the user's own plain password.</summary>
    public static ServerLoginTarget LoginTarget(DatabaseConfig database, UserConfig user, BackendServerConfig server)
    {
        var password = user.ServerPassword;
        if (password is null && user.Password is { } own && !ScramVerifier.LooksLikeVerifier(own))
        {
            // A plain password, or an md5 hash that md5 authentication can use as it is.
            password = own;
        }

        return new ServerLoginTarget(server.Host, server.Port, database.ServerDatabase, user.ServerUser ?? user.Name, password)
        {
            Scram = user.ServerScramKeys,
            LookedUp = user.LookedUp,
        };
    }

    /// <summary>Pools with min_size are opened before any client asks, for every configured user of the database.</summary>
    private void WarmConfiguredPools(ProxyConfig config)
    {
        foreach (var database in config.Databases)
        {
            if (database.IsWildcard)
            {
                continue;
            }

            foreach (var user in config.Users)
            {
                if (PoolSettings.Resolve(config, database, user).MinSize <= 0 || user.Name is var name && config.Server.AdminUsers.Contains(name))
                {
                    continue;
                }

                foreach (var server in database.Servers)
                {
                    GetPool(config, database, user, server);
                }
            }
        }
    }

    /// <summary>The pool's shared caps, their maxima set from <paramref name="database"/> and <paramref name="user"/> (a reload's new values apply from here).</summary>
    private PoolServerCaps CapsFor(DatabaseConfig database, UserConfig user, BackendServerConfig server) =>
        ServerCaps.For(database.Name, user.Name, server.Name, database.MaxServerConnections ?? 0, user.MaxServerConnections ?? 0);

    private ServerPool NewPool(PoolKey key, ServerLoginTarget target, PoolSettings settings, PoolServerCaps caps)
    {
        var pool = new ServerPool(key.Database, key.User, target, settings, _loggerFactory.CreateLogger<ServerPool>(), caps) { OpenConnection = OpenConnection };
        if (_anyPaused && IsPaused(key.Database))
        {
            pool.Pause();
        }

        return pool;
    }

    private readonly record struct PoolKey(string Database, string User, string Server);
}
