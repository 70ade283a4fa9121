using Microsoft.Extensions.Logging;
using Sluice.Proxy.Logging;

namespace Sluice.Proxy.Hosting;

/// <summary>One line per event on stderr, with a UTC timestamp: what operators grep and ship.</summary>
internal static class ConsoleLogging
{
    public static ILoggerFactory Create(LogLevel minimum = LogLevel.Information) => LoggerFactory.Create(builder =>
    {
        builder.SetMinimumLevel(minimum);
        builder.AddFilter("Microsoft", LogLevel.Warning);

        // Not .NET's console logger: it wakes its writer thread for every line, which under a connection storm (two
        // lines per connection) cost about a tenth of the proxy's CPU (bench/RESULTS.md, "Session 7").
        builder.AddLineLogger(Console.OpenStandardError());
    });
}
