using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Sluice.Proxy.Logging;

namespace Sluice.Proxy.Tests.Logging;

public sealed partial class LineLoggerProviderTests
{
    [Fact]
    public void Lines_have_the_simple_console_shape_and_all_reach_the_output_by_dispose()
    {
        var output = new MemoryStream();
        using (var factory = LoggerFactory.Create(builder => builder.SetMinimumLevel(LogLevel.Information).AddLineLogger(output)))
        {
            var logger = factory.CreateLogger("Sluice.Test");
            for (var i = 0; i < 1000; i++)
            {
                LogConnected(logger, i);
            }

            LogBelowMinimum(logger);
            LogReloadFailed(logger, "line two\r\nline three");
            LogRelayFailed(logger, new InvalidOperationException("boom"));
        }

        var lines = Encoding.UTF8.GetString(output.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(1002, lines.Length);
        Assert.Matches(LinePattern(), lines[0]);
        Assert.EndsWith(" info: Sluice.Test[7] client connected: n=0", lines[0], StringComparison.Ordinal);
        Assert.EndsWith("client connected: n=999", lines[999], StringComparison.Ordinal);
        Assert.EndsWith(" warn: Sluice.Test[8] reload failed: line two line three", lines[1000], StringComparison.Ordinal);
        Assert.Contains(" fail: Sluice.Test[9] relay failed System.InvalidOperationException: boom", lines[1001], StringComparison.Ordinal);
        Assert.DoesNotContain(lines, line => line.Contains("below the minimum", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_line_reaches_the_output_within_the_batch_window_without_a_dispose()
    {
        var output = new SignallingStream();
        using var provider = new LineLoggerProvider(output);
        var logger = provider.CreateLogger("Sluice");
        LogListening(logger);

        var written = await output.FirstWrite.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Matches(LinePattern(), written);
        Assert.EndsWith(" info: Sluice[0] listening\n", written, StringComparison.Ordinal);
    }

    [LoggerMessage(EventId = 7, Level = LogLevel.Information, Message = "client connected: n={N}")]
    private static partial void LogConnected(ILogger logger, int n);

    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "below the minimum level")]
    private static partial void LogBelowMinimum(ILogger logger);

    [LoggerMessage(EventId = 8, Level = LogLevel.Warning, Message = "reload failed:\n{Errors}")]
    private static partial void LogReloadFailed(ILogger logger, string errors);

    [LoggerMessage(EventId = 9, Level = LogLevel.Error, Message = "relay failed")]
    private static partial void LogRelayFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 0, Level = LogLevel.Information, Message = "listening")]
    private static partial void LogListening(ILogger logger);

    [GeneratedRegex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info: ")]
    private static partial Regex LinePattern();

    private sealed class SignallingStream : MemoryStream
    {
        public TaskCompletionSource<string> FirstWrite { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override void Write(byte[] buffer, int offset, int count)
        {
            base.Write(buffer, offset, count);
            FirstWrite.TrySetResult(Encoding.UTF8.GetString(buffer, offset, count));
        }
    }
}
