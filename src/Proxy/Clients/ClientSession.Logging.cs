using Microsoft.Extensions.Logging;

namespace Sluice.Proxy.Clients;

internal sealed partial class ClientSession
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "pool wait timeout: user={User} database={Database} address={Address} waited={Seconds:0.000}s")]
    private static partial void LogPoolTimeout(ILogger logger, string user, string database, string address, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "server connection to {Server} lost (user={User} database={Database}): {Reason}")]
    private static partial void LogServerLost(ILogger logger, string server, string user, string database, string reason);
}

internal sealed partial class ClientSession
{
    [LoggerMessage(Level = LogLevel.Information, Message = "client pinned to its server: user={User} database={Database} address={Address} reason={Reason}")]
    private static partial void LogPinned(ILogger logger, string user, string database, string address, string reason);
}

internal sealed partial class ClientSession
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "statement_timeout: cancelling the statement of user={User} database={Database} address={Address} after {Seconds:0.###}s")]
    private static partial void LogStatementTimeout(ILogger logger, string user, string database, string address, double seconds);
}

internal sealed partial class ClientSession
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "slow statement: user={User} database={Database} address={Address} duration={Milliseconds:0.0}ms statement={Statement}")]
    private static partial void LogSlowStatement(ILogger logger, string user, string database, string address, double milliseconds, string statement);
}

internal sealed partial class ClientSession
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "no server for a transaction of user={User} database={Database}: {Reason}")]
    private static partial void LogNoServer(ILogger logger, string user, string database, string reason);
}

internal sealed partial class ClientSession
{
    [LoggerMessage(Level = LogLevel.Error, Message = "relay of {Address} failed; the client gets 08006 and its server is discarded")]
    private static partial void LogPumpFailed(ILogger logger, string address, Exception exception);
}

internal sealed partial class ClientSession
{
    [LoggerMessage(Level = LogLevel.Debug, Message = "login to server {Server} failed for a transaction of user={User} database={Database} ({Reason}); trying again within routing.failover_wait")]
    private static partial void LogLoginRetried(ILogger logger, string server, string user, string database, string reason);
}
