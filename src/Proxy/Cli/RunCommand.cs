using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Sluice.Proxy.Configuration;
using Sluice.Proxy.Hosting;
using Sluice.Proxy.Transport;

namespace Sluice.Proxy.Cli;

/// <summary>`sluice [--config FILE]`: runs the proxy; SIGHUP reloads, SIGTERM/SIGINT drain and exit 0.</summary>
internal static partial class RunCommand
{
    public static async Task<int> RunAsync(string[] args)
    {
        var path = CommandLine.FindConfigPath(args);
        if (path is null)
        {
            await Console.Error.WriteLineAsync("sluice: --config needs a file name");
            return 2;
        }

        ProxyConfig config;
        IReadOnlyList<ConfigError> warnings;
        try
        {
            config = ConfigLoader.Load(path, out warnings);
        }
        catch (ConfigException ex)
        {
            await Console.Error.WriteLineAsync(ex.Message);
            return 1;
        }
        catch (IOException ex)
        {
            await Console.Error.WriteLineAsync($"{path}: cannot read: {ex.Message}");
            return 1;
        }

        using var loggerFactory = ConsoleLogging.Create();
        var logger = loggerFactory.CreateLogger("Sluice");
        LogWarnings(logger, warnings);
        ProxyServer server;
        try
        {
            server = await ProxyServer.StartAsync(config, loggerFactory);
        }
        catch (ConfigException ex)
        {
            // A certificate or key that cannot be loaded: as much a config error as a typo, and said as plainly.
            await Console.Error.WriteLineAsync($"{path}: {ex.Message}");
            return 1;
        }

        await using (server)
        {
            LogStarted(logger, CommandLine.Version, path);
            LogSocketCompletions(logger, SocketCompletions.AreInline ? "inline on the socket threads" : "on the thread pool");
            LogTransport(logger, TransportSelection.Current.ToString().ToLowerInvariant());
            await RunUntilStoppedAsync(server, () => LoadWithWarnings(path, logger), logger);
        }

        return 0;
    }

    /// <summary>Loads the config for a reload and logs its warnings (plain-text passwords…) as startup does.</summary>
    private static ProxyConfig LoadWithWarnings(string path, ILogger logger)
    {
        var config = ConfigLoader.Load(path, out var warnings);
        LogWarnings(logger, warnings);
        return config;
    }

    private static void LogWarnings(ILogger logger, IReadOnlyList<ConfigError> warnings)
    {
        foreach (var warning in warnings)
        {
            LogConfigWarning(logger, warning.ToString());
        }
    }

    /// <summary>Serves until SIGTERM/SIGINT (then drains) or until the server stops itself; SIGHUP reloads.</summary>
    public static async Task RunUntilStoppedAsync(ProxyServer server, Func<ProxyConfig> reload, ILogger logger)
    {
        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnStop(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.TrySetResult();
        }

        void OnReload(PosixSignalContext context)
        {
            context.Cancel = true;
            try
            {
                server.Reload(reload());
            }
            catch (ConfigException ex)
            {
                LogReloadFailed(logger, ex.Message);
            }
            catch (IOException ex)
            {
                LogReloadFailed(logger, ex.Message);
            }
        }

        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnStop);
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnStop);
        using var hangup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, OnReload);
        await Task.WhenAny(stop.Task, server.Stopped);
        await server.StopAsync();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "sluice {Version} started with {Path}")]
    private static partial void LogStarted(ILogger logger, string version, string path);

    [LoggerMessage(Level = LogLevel.Information, Message = "socket completions run {Where} (DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS)")]
    private static partial void LogSocketCompletions(ILogger logger, string where);

    [LoggerMessage(Level = LogLevel.Information, Message = "transport: {Transport} (SLUICE_TRANSPORT)")]
    private static partial void LogTransport(ILogger logger, string transport);

    [LoggerMessage(Level = LogLevel.Warning, Message = "config: {Warning}")]
    private static partial void LogConfigWarning(ILogger logger, string warning);

    [LoggerMessage(Level = LogLevel.Error, Message = "reload failed, the previous configuration stays:\n{Errors}")]
    private static partial void LogReloadFailed(ILogger logger, string errors);
}
