using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Sluice.Proxy.Clients;
using Sluice.Proxy.Configuration;
using Sluice.Proxy.Http;
using Sluice.Proxy.Runtime;
using Sluice.Proxy.Transport;

namespace Sluice.Proxy.Hosting;

/// <summary>
/// The running proxy: PostgreSQL listeners, pools, the HTTP endpoints. `sluice`, `sluice demo` and the integration
/// tests all start it through here.
/// </summary>
public sealed partial class ProxyServer : IAsyncDisposable
{
    private readonly ProxyRuntime _runtime;
    private readonly ILogger _logger;
    private readonly List<SocketListener> _listeners = [];
    private HttpEndpoints? _http;
    private int _stopped;

    private ProxyServer(ProxyRuntime runtime, ILogger logger)
    {
        _runtime = runtime;
        _logger = logger;
    }

    /// <summary>The addresses actually bound (a configured port 0 becomes the port the OS chose).</summary>
    public IReadOnlyList<IPEndPoint> ListenEndPoints => _listeners.Select(l => l.EndPoint).ToList();

    /// <summary>The bound HTTP address, or null when http_listen is empty.</summary>
    public IPEndPoint? HttpEndPoint => _http?.EndPoint;

    /// <summary>Completes when the proxy has stopped (drain finished, or SHUTDOWN from the console).</summary>
    public Task Stopped => _stoppedSource.Task;

    private readonly TaskCompletionSource _stoppedSource = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal ProxyRuntime Runtime => _runtime;

    /// <summary>Binds every listener and starts serving; throws when an address cannot be bound.</summary>
    public static async Task<ProxyServer> StartAsync(ProxyConfig config, ILoggerFactory loggerFactory, CancellationToken cancellationToken = default)
    {
        var runtime = new ProxyRuntime(config, loggerFactory);
        var server = new ProxyServer(runtime, loggerFactory.CreateLogger<ProxyServer>());
        try
        {
            // Certificate, key and CA files are read before anything listens: a bad one is a config error now, not
            // a failed handshake at the first client.
            runtime.Security.Apply(config);
            foreach (var address in config.Server.Listen)
            {
                var listener = SocketListener.Start(EndPointParser.Parse(address), server.AcceptAsync, config.Server.ReusePort && OperatingSystem.IsLinux());
                server._listeners.Add(listener);
                LogListening(server._logger, listener.EndPoint.ToString());
            }

            if (config.Server.HttpListen is { Length: > 0 } httpListen)
            {
                server._http = await HttpEndpoints.StartAsync(EndPointParser.Parse(httpListen), runtime, cancellationToken);
                LogHttpListening(server._logger, server._http.EndPoint.ToString());
            }

            runtime.Pools.StartMaintenance(() => runtime.Config);
            runtime.Monitor.Start();
            runtime.ReloadRequested = server.ReloadFromSourceFile;
            runtime.ShutdownRequested = () => server.StopAsync();
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Applies a new config (SIGHUP / RELOAD). Certificate and key files are read again; when they cannot be loaded this
    /// throws <see cref="ConfigException"/> and the running config stays.
    /// </summary>
    public void Reload(ProxyConfig config)
    {
        var old = _runtime.Config;
        _runtime.Security.Apply(config);
        _runtime.Apply(config);
        if (!old.Server.Listen.SequenceEqual(config.Server.Listen) || old.Server.HttpListen != config.Server.HttpListen)
        {
            LogListenChangeNeedsRestart(_logger);
        }

        LogReloaded(_logger, config.SourcePath ?? "(in memory)");
    }

    /// <summary>RELOAD (admin console): re-reads the file the config came from and applies it; an error text, or null.</summary>
    internal string? ReloadFromSourceFile()
    {
        if (_runtime.Config.SourcePath is not { } path)
        {
            return "the configuration was not read from a file, so there is nothing to reload";
        }

        try
        {
            Reload(ConfigLoader.Load(path));
            return null;
        }
        catch (ConfigException ex)
        {
            LogReloadFailed(_logger, ex.Message);
            return ex.Message;
        }
        catch (IOException ex)
        {
            LogReloadFailed(_logger, ex.Message);
            return $"{path}: cannot read: {ex.Message}";
        }
    }

    /// <summary>Drains: stops accepting, lets running transactions finish up to shutdown_timeout, then closes clients.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            await _stoppedSource.Task;
            return;
        }

        try
        {
            LogDraining(_logger, _runtime.Sessions.Count);
            await _runtime.Draining.CancelAsync();
            foreach (var listener in _listeners)
            {
                await listener.DisposeAsync();
            }

            var timeout = _runtime.Config.Server.ShutdownTimeout;
            var started = Stopwatch.GetTimestamp();
            while (!_runtime.Sessions.IsEmpty && (timeout <= TimeSpan.Zero || Stopwatch.GetElapsedTime(started) < timeout) && !cancellationToken.IsCancellationRequested)
            {
                // Asked every round, not once: a client that logged in just before the drain and has stayed quiet
                // since is closed when its grace is over (ClientSession.RequestShutdown).
                foreach (var session in _runtime.Sessions.Keys)
                {
                    session.RequestShutdown();
                }

                await Task.Delay(50, CancellationToken.None);
            }

            foreach (var session in _runtime.Sessions.Keys)
            {
                session.ForceShutdown();
            }

            var closeStarted = Stopwatch.GetTimestamp();
            while (!_runtime.Sessions.IsEmpty && Stopwatch.GetElapsedTime(closeStarted) < TimeSpan.FromSeconds(5))
            {
                await Task.Delay(20, CancellationToken.None);
            }

            if (_http is not null)
            {
                await _http.DisposeAsync();
                _http = null;
            }

            await _runtime.DisposeAsync();
            LogStopped(_logger);
        }
        finally
        {
            // A part that failed to stop must not leave a second StopAsync (DisposeAsync after StopAsync) waiting forever.
            _stoppedSource.TrySetResult();
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync();

    private Task AcceptAsync(Socket socket)
    {
        // The session starts on the accept loop's thread and runs until its first wait (usually for the client's next
        // message after login), then the loop accepts the next connection: no hand-off to another thread per
        // connection, as in PgBouncer's event loop. Nothing waits for the session here, so an idle client keeps no
        // accept frame alive (RunAsync handles its own failures). What a login computes for long (a server's SCRAM key
        // derivation) already runs on the thread pool (docs/transport.md).
        StartSession(_runtime, socket);
        return Task.CompletedTask;
    }

    private static void StartSession(ProxyRuntime runtime, Socket socket)
    {
        DuplexConnection connection;
        try
        {
            connection = DuplexConnection.Create(socket);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // Reset between accept and here: there is nobody to tell.
            socket.Dispose();
            return;
        }

        _ = new ClientSession(runtime, connection).RunAsync();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "listening for PostgreSQL clients on {Address}")]
    private static partial void LogListening(ILogger logger, string address);

    [LoggerMessage(Level = LogLevel.Information, Message = "HTTP endpoints (/health /ready /primary /replica /metrics) on http://{Address}")]
    private static partial void LogHttpListening(ILogger logger, string address);

    [LoggerMessage(Level = LogLevel.Information, Message = "configuration reloaded from {Path}")]
    private static partial void LogReloaded(ILogger logger, string path);

    [LoggerMessage(Level = LogLevel.Error, Message = "reload failed, the previous configuration stays:\n{Errors}")]
    private static partial void LogReloadFailed(ILogger logger, string errors);

    [LoggerMessage(Level = LogLevel.Warning, Message = "listen addresses changed in the configuration: restart the proxy to apply them")]
    private static partial void LogListenChangeNeedsRestart(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "draining: no new clients; waiting for {Count} client(s) to finish their transactions")]
    private static partial void LogDraining(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "stopped")]
    private static partial void LogStopped(ILogger logger);
}
