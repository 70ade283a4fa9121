using Sluice.Protocol.Messages;
using Sluice.Proxy.Servers;

namespace Sluice.Proxy.Failover;

/// <summary>
/// Which failures of a server connection say that the server itself is going away (and may be replaced by another),
/// as opposed to this one connection or this one login being refused for a reason of its own.
/// </summary>
internal static class ServerFailure
{
    /// <summary>
    /// 57P01 admin_shutdown (fast shutdown, pg_terminate_backend), 57P02 crash_shutdown (another backend crashed),
    /// 57P03 cannot_connect_now (shutting down, starting up, in recovery without hot standby).
    /// </summary>
    public static bool MeansServerGoingAway(string sqlState) =>
        sqlState is SqlState.AdminShutdown or SqlState.CrashShutdown or SqlState.CannotConnectNow;

    /// <summary>
    /// A login that may succeed on the current primary a moment later: the server could not be reached or dropped the
    /// connection (no error of its own), or said it is shutting down or starting up. A wrong password, an unknown
    /// database or too many connections would fail the same way again, so they are not retried.
    /// </summary>
    public static bool IsRetryableLogin(ServerConnectException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return exception.ServerError is not { } error
            || MeansServerGoingAway(error.SqlState)
            || error.SqlState.StartsWith("08", StringComparison.Ordinal);
    }

    /// <summary>What the client is told when its server was lost: 08006 with the server's own words kept.</summary>
    public static string LostMessage(string reason) => $"server connection lost: {reason}";
}
