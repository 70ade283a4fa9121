namespace Sluice.Protocol.Authentication;

/// <summary>The client side of one SCRAM-SHA-256 exchange, used by the proxy to log in to PostgreSQL.</summary>
public sealed class ScramClientExchange
{
    public ScramClientExchange(string password)
    {
        throw new NotImplementedException();
    }

    /// <summary>client-first-message ("n,,n=,r=&lt;nonce&gt;"); PostgreSQL ignores the user name here.</summary>
    public byte[] CreateClientFirst() => throw new NotImplementedException();

    /// <summary>From server-first-message to client-final-message; false (with an error) when it is malformed or the nonce does not match.</summary>
    public bool TryHandleServerFirst(ReadOnlySpan<byte> serverFirst, out byte[] clientFinal, out string? error) => throw new NotImplementedException();

    /// <summary>True when the server proved it knows the password.</summary>
    public bool VerifyServerFinal(ReadOnlySpan<byte> serverFinal) => throw new NotImplementedException();
}
