using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Sluice.Protocol.Authentication;
using Sluice.Proxy.Configuration;
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
    private Task? _maintenance;

    public PoolRegistry(ILoggerFactory loggerFactory)
    {
        _loggerFactory = loggerFactory;
    }

    public IEnumerable<ServerPool> Pools => _pools.Values;

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
                if (_pools.TryUpdate(key, NewPool(key, target, settings), existing))
                {
                    existing.Retire();
                }

                continue;
            }

            var pool = _pools.GetOrAdd(key, static (k, state) => state.Registry.NewPool(k, state.Target, state.Settings), (Registry: this, Target: target, Settings: settings));
            if (pool.Target == target)
            {
                return pool;
            }
        }
    }

    /// <summary>Applies a reloaded config: new settings for kept pools; pools of removed users, databases or servers retire.</summary>
    public void Apply(ProxyConfig config)
    {
        foreach (var (key, pool) in _pools)
        {
            var database = config.FindDatabase(key.Database);
            var user = config.FindUser(key.User);
            var server = database?.Servers.FirstOrDefault(s => s.Name == key.Server);
            if (database is null || user is null || server is null || LoginTarget(database, user, server) != pool.Target)
            {
                if (_pools.TryRemove(new KeyValuePair<PoolKey, ServerPool>(key, pool)))
                {
                    pool.Retire();
                }

                continue;
            }

            pool.Settings = PoolSettings.Resolve(config, database, user);
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

        return new ServerLoginTarget(server.Host, server.Port, database.BackendDatabase ?? database.Name, user.ServerUser ?? user.Name, password);
    }

    /// <summary>Pools with min_size are opened before any client asks, for every configured user of the database.</summary>
    private void WarmConfiguredPools(ProxyConfig config)
    {
        foreach (var database in config.Databases)
        {
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

    private ServerPool NewPool(PoolKey key, ServerLoginTarget target, PoolSettings settings) =>
        new(key.Database, key.User, target, settings, _loggerFactory.CreateLogger<ServerPool>());

    private readonly record struct PoolKey(string Database, string User, string Server);
}
