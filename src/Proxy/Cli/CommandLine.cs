using System.Reflection;
using Sluice.Proxy.Demo;
using Sluice.Proxy.Transport;

namespace Sluice.Proxy.Cli;

/// <summary>The `sluice` command line (README "Run it for real"): run, demo, check, passwd, --version.</summary>
internal static class CommandLine
{
    public static async Task<int> RunAsync(string[] args)
    {
        var command = args.Length > 0 && !args[0].StartsWith('-') ? args[0] : "run";
        var rest = command == "run" ? args : args[1..];
        if (command is "run" or "demo")
        {
            // Before anything opens a socket: the setting is read once, when .NET's socket engine starts.
            SocketCompletions.PreferInline();
        }

        switch (command)
        {
            case "run":
                if (rest.Contains("--version"))
                {
                    Console.WriteLine($"sluice {Version}");
                    return 0;
                }

                if (rest.Contains("--help") || rest.Contains("-h"))
                {
                    PrintUsage(Console.Out);
                    return 0;
                }

                return await RunCommand.RunAsync(rest);
            case "demo":
                return await DemoCommand.RunAsync(rest);
            case "check":
                return CheckCommand.Run(rest);
            case "passwd":
                return PasswdCommand.Run(rest);
            case "help":
                PrintUsage(Console.Out);
                return 0;
            default:
                Console.Error.WriteLine($"sluice: unknown command '{command}'");
                PrintUsage(Console.Error);
                return 2;
        }
    }

    public static string Version =>
        typeof(CommandLine).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    /// <summary>--config FILE, else ./proxy.toml, else /etc/sluice/proxy.toml.</summary>
    public static string? FindConfigPath(string[] args)
    {
        var index = Array.IndexOf(args, "--config");
        if (index >= 0)
        {
            return index + 1 < args.Length ? args[index + 1] : null;
        }

        if (File.Exists("proxy.toml"))
        {
            return Path.GetFullPath("proxy.toml");
        }

        return File.Exists("/etc/sluice/proxy.toml") ? "/etc/sluice/proxy.toml" : "proxy.toml";
    }

    private static void PrintUsage(TextWriter writer)
    {
        writer.WriteLine("""
            usage:
              sluice [--config FILE]         run the proxy (default ./proxy.toml, then /etc/sluice/proxy.toml)
              sluice demo                    throwaway primary + replica with the proxy on 127.0.0.1:6432
              sluice check [--config FILE]   validate a config; prints FILE:LINE: message per error
              sluice passwd USER             read a password from stdin, print its SCRAM-SHA-256 verifier
              sluice --version               print the version
            """);
    }
}
