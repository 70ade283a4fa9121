using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Sluice.Integration.Tests.Operations;

/// <summary>Reads a Prometheus text scrape: sums the samples of a metric whose labels include the given pairs.</summary>
internal static class Scrape
{
    public static double Sum(string text, string metric, params string[] labels) =>
        Samples(text, metric, labels).Sum(s => s.Value);

    public static IReadOnlyList<(string Series, double Value)> Samples(string text, string metric, params string[] labels)
    {
        var found = new List<(string, double)>();
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var space = line.LastIndexOf(' ');
            var series = line[..space];
            var brace = series.IndexOf('{', StringComparison.Ordinal);
            var name = brace < 0 ? series : series[..brace];
            if (name != metric || !labels.All(label => series.Contains(label, StringComparison.Ordinal)))
            {
                continue;
            }

            found.Add((series, double.Parse(line[(space + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture)));
        }

        return found;
    }
}

/// <summary>Runs a child process to completion, capturing its output.</summary>
internal static class Tool
{
    public static async Task<(int ExitCode, string Output)> RunAsync(string file, IEnumerable<string> arguments, string? stdin = null, TimeSpan? timeout = null)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
            process.StandardInput.Close();
        }

        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(cts.Token);
        return (process.ExitCode, await stdout + await stderr);
    }

    public static int FreePort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    public static string TempDirectory()
    {
        var path = Path.Combine(Path.GetTempPath(), "sluice-ops-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(path);
        return path;
    }
}

/// <summary>A child process kept running (HAProxy, the sluice binary), its output collected line by line; killed by pid on dispose.</summary>
internal sealed class ChildProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();

    private ChildProcess(Process process)
    {
        _process = process;
    }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public string Output => string.Join('\n', _lines);

    public static ChildProcess Start(string file, params string[] arguments)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        var process = new Process { StartInfo = info };
        var child = new ChildProcess(process);
        process.OutputDataReceived += (_, e) => child.Add(e.Data);
        process.ErrorDataReceived += (_, e) => child.Add(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    private void Add(string? line)
    {
        if (line is not null)
        {
            _lines.Enqueue(line);
        }
    }

    /// <summary>Waits until a line containing <paramref name="text"/> appears (after <paramref name="skip"/> lines) and returns it.</summary>
    public async Task<string> WaitForLineAsync(string text, TimeSpan timeout, int skip = 0)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            var line = _lines.Skip(skip).FirstOrDefault(l => l.Contains(text, StringComparison.Ordinal));
            if (line is not null)
            {
                return line;
            }

            if (_process.HasExited)
            {
                break;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"no line with '{text}' in the output of {_process.StartInfo.FileName}:\n{Output}");
    }

    public int LineCount => _lines.Count;

    public Task SignalAsync(string signal) => Tool.RunAsync("kill", [$"-{signal}", Pid.ToString(CultureInfo.InvariantCulture)]);

    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await WaitForExitAsync(TimeSpan.FromSeconds(10));
        }

        _process.Dispose();
    }
}

/// <summary>Keeps every formatted log line (with its category and level) for assertions.</summary>
internal sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyList<string> Lines => _lines.ToArray();

    public string Text => string.Join('\n', _lines);

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    public async Task<string> WaitForAsync(string text, TimeSpan timeout)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            var line = _lines.FirstOrDefault(l => l.Contains(text, StringComparison.Ordinal));
            if (line is not null)
            {
                return line;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"no log line with '{text}':\n{Text}");
    }

    private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var line = new StringBuilder().Append(logLevel).Append(' ').Append(category).Append(": ").Append(formatter(state, exception));
            if (exception is not null)
            {
                line.Append(' ').Append(exception);
            }

            owner._lines.Enqueue(line.ToString());
        }
    }
}
