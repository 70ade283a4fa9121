using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Sluice.Integration.Tests.Security.Support;

/// <summary>
/// Keeps log events (message, structured values, exception text) for tests to search: every level by default, or
/// only from <c>keepFrom</c> up while counting the rest (a fuzz run logs thousands of lines).
/// </summary>
internal sealed class CapturingLoggerProvider(LogLevel keepFrom = LogLevel.Trace) : ILoggerProvider
{
    private readonly ConcurrentQueue<CapturedLog> _entries = new();
    private long _count;

    public IReadOnlyCollection<CapturedLog> Entries => _entries;

    /// <summary>Every event logged, kept or not.</summary>
    public long Count => Interlocked.Read(ref _count);

    private LogLevel KeepFrom { get; } = keepFrom;

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
            Interlocked.Increment(ref owner._count);
            if (logLevel < owner.KeepFrom)
            {
                return;
            }

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
