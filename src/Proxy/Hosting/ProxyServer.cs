using System.Net;
using Microsoft.Extensions.Logging;
using Sluice.Proxy.Configuration;

namespace Sluice.Proxy.Hosting;

/// <summary>
/// The running proxy: PostgreSQL listeners, pools, the HTTP endpoints. `sluice`, `sluice demo` and the integration
/// tests all start it through here.
/// </summary>
public sealed class ProxyServer : IAsyncDisposable
{
    private ProxyServer()
    {
    }

    /// <summary>The addresses actually bound (a configured port 0 becomes the port the OS chose).</summary>
    public IReadOnlyList<IPEndPoint> ListenEndPoints { get; private set; } = [];

    /// <summary>The bound HTTP address, or null when http_listen is empty.</summary>
    public IPEndPoint? HttpEndPoint { get; private set; }

    /// <summary>Binds every listener and starts serving; throws when an address cannot be bound.</summary>
    public static Task<ProxyServer> StartAsync(ProxyConfig config, ILoggerFactory loggerFactory, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <summary>Applies a new config (SIGHUP / RELOAD).</summary>
    public void Reload(ProxyConfig config) => throw new NotImplementedException();

    /// <summary>Drains: stops accepting, lets running transactions finish up to shutdown_timeout, then closes clients.</summary>
    public Task StopAsync(CancellationToken cancellationToken = default) => throw new NotImplementedException();

    public ValueTask DisposeAsync() => throw new NotImplementedException();
}
