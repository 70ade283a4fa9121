using System.Net;
using Sluice.Proxy.Configuration;
using Sluice.Proxy.Observability;
using Sluice.Proxy.Pooling;

namespace Sluice.Proxy.Limits;

/// <summary>A client refused by a limit: the message of its <c>FATAL 53300</c> and the reason it is counted under.</summary>
internal readonly record struct LimitRefusal(string Message, RejectionReason Reason);

/// <summary>
/// The limits a client of a database meets on its way in and before each server checkout: connection rates per address
/// and per user, the database's client cap, the user's transaction rate. A session calls it at three points and
/// acts on the answer; what is counted, waited for and refused is decided here. Limits are read from the config given
/// at each call, so a reload applies to the next connection or transaction and never to one already admitted.
/// </summary>
internal sealed class ClientLimits
{
    private readonly RateLimits _rates;
    private readonly CapCounter _clientsPerDatabase = new();
    private readonly SluiceMetrics _metrics;

    public ClientLimits(SluiceMetrics metrics, TimeProvider clock)
    {
        _metrics = metrics;
        _rates = new RateLimits(clock);
    }

    /// <summary>
    /// A new connection from <paramref name="client"/>, before it authenticates (a storm of logins costs no SCRAM
    /// work beyond the rate): waits up to connection_rate_wait for its turn; null when it may go on.
    /// </summary>
    public async ValueTask<LimitRefusal?> AdmitConnectionAsync(EndPoint? client, LimitsSection limits, CancellationToken cancellationToken) =>
        await _rates.WaitForConnectionAsync(client, limits, cancellationToken) == RateOutcome.Refused
            ? new LimitRefusal("connection rate limit: too many new connections from this address (limits.connection_rate)", RejectionReason.ConnectionRate)
            : null;

    /// <summary>
    /// An authenticated client of <paramref name="user"/> logging in to <paramref name="database"/>: the user's
    /// connection rate, then the database's client cap. When admitted (null) the client counts against the cap until
    /// <see cref="LeaveDatabase"/>.
    /// </summary>
    public async ValueTask<LimitRefusal?> AdmitLoginAsync(UserConfig user, DatabaseConfig database, LimitsSection limits, CancellationToken cancellationToken)
    {
        switch (await _rates.WaitForUserConnectionAsync(user, limits, cancellationToken))
        {
            case RateOutcome.Refused:
                return new LimitRefusal($"connection rate limit: too many new connections for user \"{user.Name}\" (connection_rate)", RejectionReason.ConnectionRate);
            case RateOutcome.AdmittedAfterWait:
                _metrics.RateLimitedWait(database.Name, user.Name);
                break;
        }

        return _clientsPerDatabase.TryAdd(database.Name, database.MaxClientConnections ?? 0)
            ? null
            : new LimitRefusal($"too many connections for database \"{database.Name}\" (max_client_connections)", RejectionReason.DatabaseCap);
    }

    /// <summary>A client admitted by <see cref="AdmitLoginAsync"/> left.</summary>
    public void LeaveDatabase(string database) => _clientsPerDatabase.Remove(database);

    /// <summary>
    /// A transaction of <paramref name="user"/> about to ask a pool for a server: waits for the user's transaction_rate
    /// token as part of the checkout, so the pool's <paramref name="checkoutTimeout"/> bounds both waits together (give
    /// the checkout the same start). A token that would come later than that fails at once as a checkout timeout.
    /// </summary>
    /// <exception cref="PoolTimeoutException">The wait would exceed checkout_timeout.</exception>
    public async ValueTask WaitForTransactionAsync(string database, UserConfig user, TimeSpan checkoutTimeout, CancellationToken cancellationToken)
    {
        switch (await _rates.WaitForTransactionAsync(user, checkoutTimeout, cancellationToken))
        {
            case RateOutcome.Refused:
                _metrics.RateLimitedWait(database, user.Name);
                throw new PoolTimeoutException(
                    $"transaction rate limit: user \"{user.Name}\" is over its transaction_rate ({user.TransactionRate}/s) for longer than checkout_timeout ({checkoutTimeout.TotalSeconds:0.###}s)");
            case RateOutcome.AdmittedAfterWait:
                _metrics.RateLimitedWait(database, user.Name);
                break;
        }
    }
}
