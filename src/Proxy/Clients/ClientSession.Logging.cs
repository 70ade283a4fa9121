using Microsoft.Extensions.Logging;

namespace Sluice.Proxy.Clients;

internal sealed partial class ClientSession
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "pool wait timeout: user={User} database={Database} address={Address} waited={Seconds:0.000}s")]
    private static partial void LogPoolTimeout(ILogger logger, string user, string database, string address, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "server connection to {Server} lost (user={User} database={Database}): {Reason}")]
    private static partial void LogServerLost(ILogger logger, string server, string user, string database, string reason);
}
