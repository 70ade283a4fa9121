using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Sluice.Proxy.Configuration;
using Sluice.Proxy.Hosting;

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
        try
        {
            config = ConfigLoader.Load(path);
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
        await using var server = await ProxyServer.StartAsync(config, loggerFactory);
        LogStarted(logger, CommandLine.Version, path);
        await RunUntilStoppedAsync(server, () => ConfigLoader.Load(path), logger);
        return 0;
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

    [LoggerMessage(Level = LogLevel.Error, Message = "reload failed, the previous configuration stays:\n{Errors}")]
    private static partial void LogReloadFailed(ILogger logger, string errors);
}
