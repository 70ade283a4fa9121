using Sluice.Protocol.Messages;

namespace Sluice.Proxy.Servers;

/// <summary>
/// Opening a server connection failed: unreachable, refused, or PostgreSQL refused the login. <see cref="ServerError"/>
/// carries PostgreSQL's own error when it sent one, so the client can see it (e.g. 3D000 from the server).
/// </summary>
public sealed class ServerConnectException : Exception
{
    public ServerConnectException()
    {
    }

    public ServerConnectException(string message)
        : base(message)
    {
    }

    public ServerConnectException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public ServerConnectException(string message, ErrorFields serverError)
        : base(message)
    {
        ServerError = serverError;
    }

    public ErrorFields? ServerError { get; }
}
