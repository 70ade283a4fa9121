using System.Diagnostics;
using System.Globalization;

namespace Sluice.Proxy.Observability;

/// <summary>The standard <c>process_*</c> metrics of Prometheus client libraries, read when scraped.</summary>
internal sealed class ProcessMetrics
{
    private readonly double? _startTimeSeconds = StartTimeSeconds();

    public void Write(Utf8TextWriter writer)
    {
        WriteSingle(writer, "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", PrometheusMetricType.Counter, Environment.CpuUsage.TotalTime.TotalSeconds);
        WriteSingle(writer, "process_resident_memory_bytes", "Resident memory size in bytes.", PrometheusMetricType.Gauge, Environment.WorkingSet);
        if (_startTimeSeconds is { } start)
        {
            WriteSingle(writer, "process_start_time_seconds", "Start time of the process since unix epoch in seconds.", PrometheusMetricType.Gauge, start);
        }

        if (OperatingSystem.IsLinux())
        {
            if (OpenFileDescriptors() is { } open)
            {
                WriteSingle(writer, "process_open_fds", "Number of open file descriptors.", PrometheusMetricType.Gauge, open);
            }

            if (MaxFileDescriptors() is { } max)
            {
                WriteSingle(writer, "process_max_fds", "Maximum number of open file descriptors.", PrometheusMetricType.Gauge, max);
            }
        }
    }

    private static void WriteSingle(Utf8TextWriter writer, string name, string help, PrometheusMetricType type, double value)
    {
        PrometheusText.WriteHeader(writer, name, help, type);
        writer.Write(name);
        writer.Write(' ');
        writer.Write(value);
        writer.Write('\n');
    }

    private static double? StartTimeSeconds()
    {
        try
        {
            using var process = Process.GetCurrentProcess();
            return (process.StartTime.ToUniversalTime() - DateTime.UnixEpoch).TotalSeconds;
        }
        catch (Exception e) when (e is InvalidOperationException or PlatformNotSupportedException or NotSupportedException)
        {
            return null;
        }
    }

    private static long? OpenFileDescriptors()
    {
        try
        {
            return Directory.EnumerateFileSystemEntries("/proc/self/fd").LongCount();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static long? MaxFileDescriptors()
    {
        try
        {
            // "Max open files            1048576              1048576              files"
            foreach (var line in File.ReadLines("/proc/self/limits"))
            {
                if (line.StartsWith("Max open files", StringComparison.Ordinal))
                {
                    var fields = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    return fields.Length > 0 && long.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var soft) ? soft : null;
                }
            }

            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
