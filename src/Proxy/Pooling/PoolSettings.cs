using Sluice.Proxy.Configuration;
using Sluice.Proxy.Security;

namespace Sluice.Proxy.Pooling;

/// <summary>The settings one pool runs with, resolved from [pool], the database entry and the user entry.</summary>
internal sealed record PoolSettings
{
    public PoolMode Mode { get; init; } = PoolMode.Transaction;

    public int Size { get; init; } = 20;

    public int MinSize { get; init; }

    public TimeSpan CheckoutTimeout { get; init; } = TimeSpan.FromSeconds(5);

    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(10);

    public TimeSpan Lifetime { get; init; } = TimeSpan.FromHours(1);

    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(15);

    public string ResetQuery { get; init; } = "DISCARD ALL";

    /// <summary>Servers the pool may open beyond <see cref="Size"/> once a client waited <see cref="ReserveTimeout"/>.</summary>
    public int ReserveSize { get; init; }

    public TimeSpan ReserveTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>[tls] server_mode and server_ca_file, for new server connections.</summary>
    public ServerTlsOptions ServerTls { get; init; } = ServerTlsOptions.Disabled;

    /// <summary>User entry over database entry over [pool].</summary>
    public static PoolSettings Resolve(ProxyConfig config, DatabaseConfig database, UserConfig user) => new()
    {
        Mode = user.PoolMode ?? database.PoolMode ?? config.Pool.Mode,
        Size = user.PoolSize ?? database.PoolSize ?? config.Pool.Size,
        MinSize = database.MinPoolSize ?? config.Pool.MinSize,
        CheckoutTimeout = config.Pool.CheckoutTimeout,
        IdleTimeout = config.Pool.ServerIdleTimeout,
        Lifetime = config.Pool.ServerLifetime,
        ConnectTimeout = config.Pool.ServerConnectTimeout,
        ResetQuery = config.Pool.ResetQuery,
        ReserveSize = database.ReservePoolSize ?? config.Pool.ReservePoolSize,
        ReserveTimeout = config.Pool.ReservePoolTimeout,
        ServerTls = ServerTlsOptions.For(config.Tls),
    };
}
