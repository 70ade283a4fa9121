using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Sluice.Proxy.Hosting;

/// <summary>One line per event on stderr, with a UTC timestamp: what operators grep and ship.</summary>
internal static class ConsoleLogging
{
    public static ILoggerFactory Create(LogLevel minimum = LogLevel.Information) => LoggerFactory.Create(builder =>
    {
        builder.SetMinimumLevel(minimum);
        builder.AddFilter("Microsoft", LogLevel.Warning);
        builder.AddSimpleConsole(options =>
        {
            options.SingleLine = true;
            options.UseUtcTimestamp = true;
            options.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            options.ColorBehavior = LoggerColorBehavior.Disabled;
        });
        builder.AddConsole(options => options.LogToStandardErrorThreshold = LogLevel.Trace);
    });
}
