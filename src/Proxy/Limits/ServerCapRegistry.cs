using System.Collections.Concurrent;

namespace Sluice.Proxy.Limits;

/// <summary>
/// The shared server caps, one per (database, server) and one per (user, server): at most one per configured pair,
/// so the table is as large as the config. The pool registry asks for a pool's pair and sets the maxima from the
/// config in force.
/// </summary>
internal sealed class ServerCapRegistry
{
    private readonly ConcurrentDictionary<(string Database, string Server), ServerCap> _databases = new();
    private readonly ConcurrentDictionary<(string User, string Server), ServerCap> _users = new();

    /// <summary>The caps of a (database, user, server) pool, with their maxima set to <paramref name="databaseMax"/> and <paramref name="userMax"/>.</summary>
    public PoolServerCaps For(string database, string user, string server, int databaseMax, int userMax)
    {
        var databaseCap = _databases.GetOrAdd((database, server), static (_, max) => new ServerCap(max), databaseMax);
        var userCap = _users.GetOrAdd((user, server), static (_, max) => new ServerCap(max), userMax);
        databaseCap.Max = databaseMax;
        userCap.Max = userMax;
        return new PoolServerCaps(databaseCap, userCap);
    }
}
