using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Sluice.Proxy.Admin;

/// <summary>How the console prints times, addresses and flags (PgBouncer's conventions).</summary>
internal static class AdminFormat
{
    public static string Timestamp(DateTime utc) => utc.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + " UTC";

    /// <summary>The wall-clock time of a <see cref="Stopwatch"/> timestamp.</summary>
    public static string Timestamp(long stopwatchTimestamp) => Timestamp(DateTime.UtcNow - Stopwatch.GetElapsedTime(stopwatchTimestamp));

    public static long Flag(bool value) => value ? 1 : 0;

    /// <summary>PgBouncer splits a wait into whole seconds (maxwait, wait) and the microseconds beyond them (*_us).</summary>
    public static (long Seconds, long Micros) Wait(TimeSpan wait)
    {
        var micros = (long)wait.TotalMicroseconds;
        return (micros / 1_000_000, micros % 1_000_000);
    }

    public static (string? Address, long? Port) Split(EndPoint? endPoint) => endPoint switch
    {
        IPEndPoint ip => ((ip.Address.IsIPv4MappedToIPv6 ? ip.Address.MapToIPv4() : ip.Address).ToString(), ip.Port),
        null => (null, null),
        _ => (endPoint.ToString(), null),
    };

    /// <summary>A socket's local address, or null once the socket is closed.</summary>
    public static EndPoint? LocalEndPoint(Func<EndPoint?> read)
    {
        try
        {
            return read();
        }
        catch (Exception ex) when (ex is ObjectDisposedException or SocketException)
        {
            return null;
        }
    }
}
