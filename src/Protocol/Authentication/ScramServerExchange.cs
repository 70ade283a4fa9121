namespace Sluice.Protocol.Authentication;

/// <summary>
/// The server side of one SCRAM-SHA-256 exchange (RFC 5802/7677), used to authenticate clients of the proxy.
/// With <c>channelBinding</c> data (tls-server-end-point hash of the proxy's certificate) it also accepts
/// SCRAM-SHA-256-PLUS.
/// </summary>
public sealed class ScramServerExchange
{
    public const string Mechanism = "SCRAM-SHA-256";
    public const string MechanismPlus = "SCRAM-SHA-256-PLUS";

    public ScramServerExchange(ScramVerifier verifier, byte[]? channelBinding = null)
    {
        throw new NotImplementedException();
    }

    /// <summary>The mechanisms to offer in AuthenticationSASL: PLUS first when channel binding data is present.</summary>
    public IReadOnlyList<string> Mechanisms => throw new NotImplementedException();

    /// <summary>
    /// Handles SASLInitialResponse (mechanism + client-first-message). False with an error text when the message is
    /// malformed or asks for something not offered (the proxy answers 08P01 or 28000).
    /// </summary>
    public bool TryHandleClientFirst(string mechanism, ReadOnlySpan<byte> clientFirst, out byte[] serverFirst, out string? error) => throw new NotImplementedException();

    /// <summary>Handles the client-final-message; false when the proof is wrong (28P01) or the message malformed.</summary>
    public bool TryHandleClientFinal(ReadOnlySpan<byte> clientFinal, out byte[] serverFinal, out string? error) => throw new NotImplementedException();
}
