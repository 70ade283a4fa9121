using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Sluice.Integration.Tests.Security.Support;

/// <summary>Keeps every log event at every level (message, structured values, exception text) for tests to search.</summary>
internal sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<CapturedLog> _entries = new();

    public IReadOnlyCollection<CapturedLog> Entries => _entries;

    public ILoggerFactory CreateFactory() => LoggerFactory.Create(builder =>
    {
        builder.SetMinimumLevel(LogLevel.Trace);
        builder.AddProvider(this);
    });

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = state is IEnumerable<KeyValuePair<string, object?>> pairs
                ? string.Join(" ", pairs.Select(pair => $"{pair.Key}={pair.Value}"))
                : "";
            owner._entries.Enqueue(new CapturedLog(logLevel, category, formatter(state, exception), values, exception?.ToString()));
        }
    }
}

internal sealed record CapturedLog(LogLevel Level, string Category, string Message, string Values, string? Exception)
{
    public string AllText => $"{Category} {Message} {Values} {Exception}";
}
