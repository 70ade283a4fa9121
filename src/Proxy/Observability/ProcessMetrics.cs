using System.Diagnostics;
using System.Globalization;
using Prometheus;

namespace Sluice.Proxy.Observability;

/// <summary>
/// The standard <c>process_*</c> metrics of Prometheus client libraries, brought up to date before each scrape.
/// prometheus-net's own set (<c>DotNetStats</c>) names memory <c>process_working_set_bytes</c> and has no file
/// descriptor counts, so Sluice keeps the names it has always exported.
/// </summary>
internal sealed class ProcessMetrics
{
    private readonly Counter _cpuSeconds;
    private readonly Gauge _residentMemory;
    private readonly Gauge? _openFds;
    private readonly Gauge? _maxFds;

    public ProcessMetrics(IMetricFactory factory)
    {
        _cpuSeconds = factory.CreateCounter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.");
        _residentMemory = factory.CreateGauge("process_resident_memory_bytes", "Resident memory size in bytes.");
        if (StartTimeSeconds() is { } start)
        {
            factory.CreateGauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.").Set(start);
        }

        if (OperatingSystem.IsLinux())
        {
            _openFds = factory.CreateGauge("process_open_fds", "Number of open file descriptors.");
            _maxFds = factory.CreateGauge("process_max_fds", "Maximum number of open file descriptors.");
        }
    }

    public void Update()
    {
        _cpuSeconds.IncTo(Environment.CpuUsage.TotalTime.TotalSeconds);
        _residentMemory.Set(Environment.WorkingSet);
        if (OpenFileDescriptors() is { } open)
        {
            _openFds?.Set(open);
        }

        if (MaxFileDescriptors() is { } max)
        {
            _maxFds?.Set(max);
        }
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
            return OperatingSystem.IsLinux() ? Directory.EnumerateFileSystemEntries("/proc/self/fd").LongCount() : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static long? MaxFileDescriptors()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

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
