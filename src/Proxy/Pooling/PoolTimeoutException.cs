namespace Sluice.Proxy.Pooling;

/// <summary>A client waited longer than checkout_timeout for a server connection (53300 to the client).</summary>
public sealed class PoolTimeoutException : Exception
{
    public PoolTimeoutException()
    {
    }

    public PoolTimeoutException(string message)
        : base(message)
    {
    }

    public PoolTimeoutException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
