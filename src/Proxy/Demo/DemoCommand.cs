using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Sluice.Proxy.Hosting;

namespace Sluice.Proxy.Demo;

/// <summary>`sluice demo`: a throwaway primary + streaming replica, a config for them, the proxy on 127.0.0.1:6432.</summary>
internal static class DemoCommand
{
    private const string Usage = """
        usage: sluice demo [--port N] [--http-port N]
          --port N        where the proxy listens (default 6432, on 127.0.0.1)
          --http-port N   where /metrics, /health, ... are served (default 9930, on 127.0.0.1)
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Contains("--help") || args.Contains("-h"))
        {
            Console.WriteLine(Usage);
            return 0;
        }

        if (!TryParse(args, out var listenPort, out var httpPort, out var error))
        {
            Console.Error.WriteLine($"sluice demo: {error}");
            Console.Error.WriteLine(Usage);
            return 2;
        }

        // The first Ctrl-C/SIGTERM stops the demo gracefully; a second one cuts the proxy's drain short.
        using var stopping = new CancellationTokenSource();
        using var forced = new CancellationTokenSource();
        var signals = 0;
        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true;
            (Interlocked.Increment(ref signals) == 1 ? stopping : forced).Cancel();
        }

        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);

        Console.WriteLine("Starting a PostgreSQL primary and a streaming replica...");
        PostgresCluster cluster;
        try
        {
            cluster = await PostgresCluster.StartAsync(new PostgresClusterOptions(), stopping.Token);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            return 0;
        }
        catch (Exception exception) when (exception is InvalidOperationException or TimeoutException)
        {
            Console.Error.WriteLine($"sluice demo: could not start PostgreSQL: {exception.Message}");
            return 1;
        }

        await using (cluster)
        {
            try
            {
                await RunProxyAsync(cluster, listenPort, httpPort, stopping.Token, forced.Token);
                return 0;
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return 0;
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                Console.Error.WriteLine($"sluice demo: {exception.Message}");
                return 1;
            }
            finally
            {
                Console.WriteLine("Removing the demo's PostgreSQL servers and files.");
            }
        }
    }

    private static async Task RunProxyAsync(PostgresCluster cluster, int listenPort, int httpPort, CancellationToken stopping, CancellationToken forced)
    {
        await cluster.ExecuteOnPrimaryAsync(
            $"""
            CREATE ROLE {DemoConfig.AppUser} LOGIN PASSWORD '{DemoConfig.AppPassword}';
            CREATE DATABASE {DemoConfig.Database} OWNER {DemoConfig.AppUser};
            """,
            stopping);
        await cluster.WaitForReplicaCatchUpAsync(TimeSpan.FromSeconds(30), stopping);

        var demo = new DemoConfig(listenPort, httpPort, cluster.PrimaryPort, cluster.ReplicaPort);
        var configPath = Path.Combine(cluster.DataRoot, "proxy.toml");
        await File.WriteAllTextAsync(configPath, demo.ToToml(), stopping);

        using var loggerFactory = LoggerFactory.Create(logging => logging
            .SetMinimumLevel(LogLevel.Information)
            .AddSimpleConsole(console =>
            {
                console.SingleLine = true;
                console.TimestampFormat = "HH:mm:ss ";
                console.ColorBehavior = LoggerColorBehavior.Default;
            }));
        await using var server = await ProxyServer.StartAsync(demo.ToProxyConfig(configPath), loggerFactory, stopping);
        PrintBanner(cluster, server, configPath);

        var stopRequested = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using (stopping.Register(() => stopRequested.TrySetResult()))
        {
            await stopRequested.Task;
        }

        Console.WriteLine("Stopping (Ctrl-C again to stop at once)...");
        await server.StopAsync(forced);
    }

    private static void PrintBanner(PostgresCluster cluster, ProxyServer server, string configPath)
    {
        var port = server.ListenEndPoints.Count > 0 ? server.ListenEndPoints[0].Port : 0;
        var metrics = server.HttpEndPoint is { } http ? $"http://{http}/metrics" : "(HTTP disabled)";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"""

            Sluice demo is running.
              psql "host=127.0.0.1 port={port} dbname={DemoConfig.Database} user={DemoConfig.AppUser} password={DemoConfig.AppPassword}"
              admin console: psql "host=127.0.0.1 port={port} dbname=sluice user={DemoConfig.AdminUser} password={DemoConfig.AdminPassword}"
              metrics:       {metrics}
              config:        {configPath}
              PostgreSQL:    primary 127.0.0.1:{cluster.PrimaryPort}, replica 127.0.0.1:{cluster.ReplicaPort} (user {cluster.Superuser}, password {cluster.SuperuserPassword})
            Press Ctrl-C to stop.
            """));
    }

    private static bool TryParse(string[] args, out int listenPort, out int httpPort, out string? error)
    {
        listenPort = 6432;
        httpPort = 9930;
        error = null;
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] is not ("--port" or "--http-port"))
            {
                error = $"unknown argument '{args[i]}'";
                return false;
            }

            if (i + 1 >= args.Length || !int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > 65535)
            {
                error = $"{args[i]} needs a port number (0-65535)";
                return false;
            }

            if (args[i] == "--port")
            {
                listenPort = port;
            }
            else
            {
                httpPort = port;
            }

            i++;
        }

        return true;
    }
}
