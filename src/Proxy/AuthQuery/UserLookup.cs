using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Sluice.Protocol.Authentication;
using Sluice.Proxy.Configuration;
using Sluice.Proxy.Pooling;
using Sluice.Proxy.Runtime;
using Sluice.Proxy.Security;
using Sluice.Routing.Topology;

namespace Sluice.Proxy.AuthQuery;

/// <summary>
/// Users that are not in proxy.toml, looked up in PostgreSQL with auth_query as auth_user (PgBouncer's auth_query).
/// Answers, found or not, are believed for [server] auth_cache_ttl; concurrent logins of one name share one look-up; a
/// failed look-up is not remembered, so the next login asks again.
/// </summary>
internal sealed partial class UserLookup : IAsyncDisposable
{
    /// <summary>Past this many remembered names, expired ones are swept out (a flood of made-up names cannot grow it for ever).</summary>
    private const int SweepAbove = 10_000;

    private readonly ConcurrentDictionary<CacheKey, Entry> _cache = new();
    private readonly AuthQueryConnections _connections = new();
    private readonly HealthState _health;
    private readonly ILogger _logger;

    public UserLookup(HealthState health, ILogger<UserLookup> logger)
    {
        _health = health;
        _logger = logger;
    }

    /// <summary>The auth_user and auth_query that apply to <paramref name="database"/>; null when look-ups are off there.</summary>
    public static (UserConfig AuthUser, string Query)? PolicyFor(ProxyConfig config, DatabaseConfig database)
    {
        var name = database.AuthUser ?? config.Server.AuthUser;
        return name.Length > 0 && config.FindUser(name) is { } authUser
            ? (authUser, database.AuthQuery ?? config.Server.AuthQuery)
            : null;
    }

    /// <summary>
    /// The user <paramref name="userName"/> as PostgreSQL knows it, or null when the query returns no row (or no
    /// password): the caller then refuses the login exactly like a wrong password. Throws <see cref="AuthQueryException"/>.
    /// </summary>
    public async Task<UserConfig?> FindAsync(ProxyConfig config, DatabaseConfig database, string userName, CancellationToken cancellationToken)
    {
        if (PolicyFor(config, database) is not var (authUser, query))
        {
            return null;
        }

        var server = _health.Select(database, RouteKind.Write).Server
            ?? database.Servers.FirstOrDefault(s => s.Role != ServerRole.Replica) ?? database.Servers[0];
        var target = PoolRegistry.LoginTarget(database, authUser, server);
        var key = new CacheKey(target.Host, target.Port, target.Database, target.User, query, userName);
        var now = Stopwatch.GetTimestamp();
        var ttl = config.Server.AuthCacheTtl;
        while (true)
        {
            if (!_cache.TryGetValue(key, out var entry) || entry.IsExpired(now, ttl))
            {
                var fresh = new Entry(now, new Lazy<Task<UserConfig?>>(() => LookUpAsync(target, ServerTlsOptions.For(config.Tls), query, userName, config.Pool.ServerConnectTimeout)));
                var stored = entry is null ? _cache.GetOrAdd(key, fresh) : _cache.TryUpdate(key, fresh, entry) ? fresh : null;
                if (stored is null)
                {
                    continue;
                }

                entry = stored;
                if (ReferenceEquals(stored, fresh) && _cache.Count > SweepAbove)
                {
                    Sweep(ttl);
                }
            }

            try
            {
                return await entry.Lookup.Value.WaitAsync(cancellationToken);
            }
            catch (AuthQueryException)
            {
                // Not remembered: the next login asks PostgreSQL again.
                _cache.TryRemove(new KeyValuePair<CacheKey, Entry>(key, entry));
                throw;
            }
        }
    }

    /// <summary>Forgets every answer (RELOAD: the operator may have just fixed a password in PostgreSQL).</summary>
    public void Clear() => _cache.Clear();

    public ValueTask DisposeAsync() => _connections.DisposeAsync();

    private async Task<UserConfig?> LookUpAsync(Servers.ServerLoginTarget target, ServerTlsOptions tls, string query, string userName, TimeSpan timeout)
    {
        // Not the login's token: the look-up is shared by every login of the name that arrives meanwhile.
        string?[]? row;
        try
        {
            row = await _connections.QueryAsync(target, tls, query, userName, timeout, CancellationToken.None);
        }
        catch (AuthQueryException ex)
        {
            LogLookupFailed(_logger, target.ToString(), ex.Message);
            throw;
        }

        if (row is null)
        {
            return null;
        }

        if (row.Length < 2)
        {
            LogLookupFailed(_logger, target.ToString(), "auth_query must return two columns (name, password)");
            throw AuthQueryException.Refused("auth_query must return two columns: the user name and its password hash or SCRAM verifier");
        }

        return ToUser(userName, row[1]);
    }

    /// <summary>What the stored secret allows: SCRAM for a verifier, md5 for an md5 hash; nothing for a NULL password.</summary>
    private static UserConfig? ToUser(string userName, string? secret)
    {
        if (string.IsNullOrEmpty(secret))
        {
            return null;
        }

        if (ScramVerifier.LooksLikeVerifier(secret))
        {
            return ScramVerifier.TryParse(secret, out _) ? new UserConfig { Name = userName, Password = secret, Auth = AuthMethod.ScramSha256, LookedUp = true } : null;
        }

        var auth = Md5Password.LooksLikeHash(secret) ? AuthMethod.Md5 : AuthMethod.ScramSha256;
        return new UserConfig { Name = userName, Password = secret, Auth = auth, LookedUp = true };
    }

    private void Sweep(TimeSpan ttl)
    {
        var now = Stopwatch.GetTimestamp();
        foreach (var (key, entry) in _cache)
        {
            if (entry.IsExpired(now, ttl))
            {
                _cache.TryRemove(new KeyValuePair<CacheKey, Entry>(key, entry));
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "auth_query look-up as {Target} failed: {Reason}")]
    private static partial void LogLookupFailed(ILogger logger, string target, string reason);

    private readonly record struct CacheKey(string Host, int Port, string Database, string AuthUser, string Query, string UserName);

    private sealed record Entry(long StartedAt, Lazy<Task<UserConfig?>> Lookup)
    {
        /// <summary>Answered and older than the TTL (a look-up still running is never replaced: its waiters share it).</summary>
        public bool IsExpired(long now, TimeSpan ttl) =>
            Lookup.IsValueCreated && Lookup.Value.IsCompleted && Stopwatch.GetElapsedTime(StartedAt, now) >= ttl;
    }
}
