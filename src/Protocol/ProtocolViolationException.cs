namespace Sluice.Protocol;

/// <summary>
/// The peer sent bytes that break the wire protocol. Decoders throw it for malformed payloads; the proxy answers with
/// 08P01 (client side) or 08006 (server side) and closes that connection only.
/// </summary>
public sealed class ProtocolViolationException : Exception
{
    public ProtocolViolationException()
    {
    }

    public ProtocolViolationException(string message)
        : base(message)
    {
    }

    public ProtocolViolationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
