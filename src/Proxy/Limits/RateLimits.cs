using System.Net;
using Sluice.Proxy.Configuration;

namespace Sluice.Proxy.Limits;

/// <summary>
/// The proxy's rate limits and their buckets: new connections per client address (<c>[limits] connection_rate</c>) and
/// per user (<c>[[users]] connection_rate</c>), transactions per user (<c>[[users]] transaction_rate</c>). Rates are
/// read from the config in force at each call, so a reload applies to the next connection or transaction.
/// </summary>
internal sealed class RateLimits
{
    private readonly TimeProvider _clock;
    private readonly RateLimiterTable<IPAddress> _connectionsByAddress;
    private readonly RateLimiterTable<string> _connectionsByUser;
    private readonly RateLimiterTable<string> _transactionsByUser;

    public RateLimits(TimeProvider clock)
    {
        _clock = clock;
        _connectionsByAddress = new(clock);
        _connectionsByUser = new(clock);
        _transactionsByUser = new(clock);
    }

    /// <summary>Buckets kept for client addresses (bounded: see <see cref="RateLimiterTable{TKey}"/>).</summary>
    public int TrackedAddresses => _connectionsByAddress.Count;

    /// <summary>A new connection from <paramref name="client"/>; waits up to connection_rate_wait for its turn.</summary>
    public ValueTask<RateOutcome> WaitForConnectionAsync(EndPoint? client, LimitsSection limits, CancellationToken cancellationToken) =>
        client is IPEndPoint { Address: var address }
            ? WaitAsync(_connectionsByAddress, address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address, limits.ConnectionRate, limits.ConnectionRateWait, cancellationToken)
            : ValueTask.FromResult(RateOutcome.Admitted);

    /// <summary>A new connection of <paramref name="user"/> (once authenticated); waits up to connection_rate_wait.</summary>
    public ValueTask<RateOutcome> WaitForUserConnectionAsync(UserConfig user, LimitsSection limits, CancellationToken cancellationToken) =>
        WaitAsync(_connectionsByUser, user.Name, user.ConnectionRate ?? 0, limits.ConnectionRateWait, cancellationToken);

    /// <summary>
    /// A transaction of <paramref name="user"/> about to ask for a server; waits up to <paramref name="maxWait"/>
    /// (checkout_timeout, whose "0" means no bound). A connection waits up to connection_rate_wait, whose "0" means no wait.
    /// </summary>
    public ValueTask<RateOutcome> WaitForTransactionAsync(UserConfig user, TimeSpan maxWait, CancellationToken cancellationToken) =>
        WaitAsync(_transactionsByUser, user.Name, user.TransactionRate ?? 0, maxWait > TimeSpan.Zero ? maxWait : TimeSpan.MaxValue, cancellationToken);

    private async ValueTask<RateOutcome> WaitAsync<TKey>(RateLimiterTable<TKey> table, TKey key, int rate, TimeSpan maxWait, CancellationToken cancellationToken)
        where TKey : notnull
    {
        if (rate <= 0)
        {
            return RateOutcome.Admitted;
        }

        var wait = table.TryReserve(key, rate, maxWait);
        if (wait is not { } delay)
        {
            return RateOutcome.Refused;
        }

        if (delay == TimeSpan.Zero)
        {
            return RateOutcome.Admitted;
        }

        try
        {
            await Task.Delay(delay, _clock, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            table.Return(key);
            throw;
        }

        return RateOutcome.AdmittedAfterWait;
    }
}
