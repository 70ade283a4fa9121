using System.Globalization;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Sluice.Proxy.Logging;

/// <summary>
/// One line per event, in the shape of .NET's simple console format with a UTC timestamp
/// (<c>2026-12-05T10:20:56.057Z info: Category[EventId] message</c>; an exception follows on the same line), written in
/// batches by a <see cref="LogLineWriter"/>. Levels and categories are filtered by the logger factory as usual.
/// </summary>
/// <remarks>Register it with <see cref="LineLoggerRegistration.AddLineLogger"/>: the logger factory then disposes it,
/// which writes what is still pending.</remarks>
[ProviderAlias("Sluice")]
internal sealed class LineLoggerProvider(Stream output) : ILoggerProvider
{
    private readonly LogLineWriter _writer = new(output);

    public ILogger CreateLogger(string categoryName) => new LineLogger(categoryName, _writer);

    /// <summary>Writes what is still pending before the process goes.</summary>
    public void Dispose() => _writer.Dispose();

    private sealed class LineLogger(string category, LogLineWriter writer) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }

            var message = formatter(state, exception);
            var line = new Line(DateTime.UtcNow, logLevel, category, eventId.Id, message, exception);
            writer.Append(line, static (builder, line) => line.WriteTo(builder));
        }
    }

    private readonly record struct Line(DateTime Time, LogLevel Level, string Category, int EventId, string Message, Exception? Exception)
    {
        public void WriteTo(StringBuilder builder)
        {
            builder.Append(CultureInfo.InvariantCulture, $"{Time:yyyy-MM-ddTHH:mm:ss.fff}Z {LevelName(Level)}: {Category}[{EventId}] ");
            AppendOnOneLine(builder, Message);
            if (Exception is not null)
            {
                builder.Append(' ');
                AppendOnOneLine(builder, Exception.ToString());
            }
        }

        private static void AppendOnOneLine(StringBuilder builder, string text)
        {
            var start = builder.Length;
            builder.Append(text);
            if (text.Contains('\n', StringComparison.Ordinal))
            {
                builder.Replace("\r\n", " ", start, builder.Length - start);
                builder.Replace('\n', ' ', start, builder.Length - start);
            }
        }

        private static string LevelName(LogLevel level) => level switch
        {
            LogLevel.Trace => "trce",
            LogLevel.Debug => "dbug",
            LogLevel.Information => "info",
            LogLevel.Warning => "warn",
            LogLevel.Error => "fail",
            LogLevel.Critical => "crit",
            _ => "none",
        };
    }
}

internal static class LineLoggerRegistration
{
    /// <summary>
    /// Adds the provider as a service the logging container creates, so that disposing the logger factory disposes it
    /// (an instance passed to <c>AddProvider</c> is not disposed, and its last lines would be lost).
    /// </summary>
    public static ILoggingBuilder AddLineLogger(this ILoggingBuilder builder, Stream output)
    {
        builder.Services.AddSingleton<ILoggerProvider>(_ => new LineLoggerProvider(output));
        return builder;
    }
}
