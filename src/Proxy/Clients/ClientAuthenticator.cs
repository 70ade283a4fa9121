using System.Security.Cryptography;
using System.Text;
using Sluice.Protocol;
using Sluice.Protocol.Authentication;
using Sluice.Protocol.Framing;
using Sluice.Protocol.Messages;
using Sluice.Proxy.Configuration;
using Sluice.Proxy.Runtime;
using Sluice.Proxy.Transport;

namespace Sluice.Proxy.Clients;

/// <summary>
/// Checks who a client is, with the method its [[users]] entry names. An unknown user goes through the same SCRAM
/// exchange as a known one and fails with the same message, so names cannot be probed. Over TLS, SCRAM also offers
/// SCRAM-SHA-256-PLUS, bound to the proxy's certificate (<c>channelBinding</c>: its tls-server-end-point hash).
/// </summary>
/// <remarks>Nothing here logs or keeps what the client sent: passwords and proofs never leave these methods.</remarks>
internal static class ClientAuthenticator
{
    private const int MaxAuthMessageLength = 16 * 1024;

    public static async Task<bool> AuthenticateAsync(DuplexConnection client, string userName, UserConfig? user, CredentialCache credentials, byte[]? channelBinding, CancellationToken cancellationToken)
        => (await AuthenticateWithKeysAsync(client, userName, user, credentials, channelBinding, cancellationToken)).Succeeded;

    /// <summary>
    /// As <see cref="AuthenticateAsync"/>, and after a SCRAM login the ClientKey the client's proof revealed: with the
    /// verifier, it logs in to PostgreSQL as this user without the password (users looked up with auth_query).
    /// </summary>
    public static async Task<(bool Succeeded, byte[]? ScramClientKey)> AuthenticateWithKeysAsync(DuplexConnection client, string userName, UserConfig? user, CredentialCache credentials, byte[]? channelBinding, CancellationToken cancellationToken)
    {
        var method = user?.Auth ?? AuthMethod.ScramSha256;
        if (user is not null && method == AuthMethod.ScramSha256 && credentials.GetScramVerifier(user) is null)
        {
            // The config holds an md5 hash, which cannot answer SCRAM. Falling back to a weaker method would override
            // what the operator chose, so the login fails like a wrong password.
            user = null;
        }

        return method switch
        {
            AuthMethod.Trust => (user is not null, null),
            AuthMethod.Password => (await CleartextAsync(client, userName, user!, cancellationToken), null),
            AuthMethod.Md5 => (await Md5Async(client, userName, user!, cancellationToken), null),
            _ => await ScramAsync(client, user is null ? credentials.FakeVerifier(userName) : credentials.GetScramVerifier(user)!, user is not null, channelBinding, cancellationToken),
        };
    }

    private static async Task<bool> CleartextAsync(DuplexConnection client, string userName, UserConfig user, CancellationToken cancellationToken)
    {
        MessageWriter.WriteAuthenticationCleartextPassword(client.Output);
        await client.Output.FlushAsync(cancellationToken);
        var frame = await ReadPasswordFrameAsync(client, cancellationToken);
        var given = FrontendMessageReader.ReadPassword(frame.PayloadSequence);
        var stored = user.Password ?? "";
        if (ScramVerifier.LooksLikeVerifier(stored))
        {
            if (!ScramVerifier.TryParse(stored, out var verifier) || verifier is null)
            {
                return false;
            }

            var candidate = ScramVerifier.Create(given, verifier.Iterations, verifier.Salt);
            return CryptographicOperations.FixedTimeEquals(candidate.StoredKey, verifier.StoredKey);
        }

        var expected = Md5Password.LooksLikeHash(stored) ? stored : null;
        var actual = expected is null ? given : Md5Password.Hash(userName, given);
        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(actual), Encoding.UTF8.GetBytes(expected ?? stored));
    }

    private static async Task<bool> Md5Async(DuplexConnection client, string userName, UserConfig user, CancellationToken cancellationToken)
    {
        var salt = RandomNumberGenerator.GetBytes(4);
        MessageWriter.WriteAuthenticationMd5Password(client.Output, salt);
        await client.Output.FlushAsync(cancellationToken);
        var frame = await ReadPasswordFrameAsync(client, cancellationToken);
        var response = FrontendMessageReader.ReadPassword(frame.PayloadSequence);
        return user.Password is { } stored && !ScramVerifier.LooksLikeVerifier(stored) && Md5Password.Verify(userName, stored, salt, response);
    }

    private static async Task<(bool Succeeded, byte[]? ClientKey)> ScramAsync(DuplexConnection client, ScramVerifier verifier, bool userKnown, byte[]? channelBinding, CancellationToken cancellationToken)
    {
        var exchange = new ScramServerExchange(verifier, channelBinding);
        MessageWriter.WriteAuthenticationSasl(client.Output, exchange.Mechanisms);
        await client.Output.FlushAsync(cancellationToken);

        var initial = FrontendMessageReader.ReadSaslInitialResponse((await ReadPasswordFrameAsync(client, cancellationToken)).PayloadSequence);
        if (!exchange.TryHandleClientFirst(initial.Mechanism, initial.Data.Span, out var serverFirst, out var error))
        {
            throw new ProtocolViolationException($"invalid SCRAM client-first-message: {error}");
        }

        MessageWriter.WriteAuthenticationSaslContinue(client.Output, serverFirst);
        await client.Output.FlushAsync(cancellationToken);

        var final = await ReadPasswordFrameAsync(client, cancellationToken);
        if (!exchange.TryHandleClientFinal(final.Payload, out var serverFinal, out var finalError))
        {
            // Only a wrong proof is a wrong password. A malformed message, a nonce or channel binding that does not
            // match, is a broken or meddling client (08P01, as PostgreSQL): it guessed nothing, so it is not counted
            // as a failed login either.
            if (exchange.Failure != ScramFailure.InvalidProof)
            {
                throw new ProtocolViolationException($"invalid SCRAM client-final-message: {finalError}");
            }

            return (false, null);
        }

        if (!userKnown)
        {
            return (false, null);
        }

        MessageWriter.WriteAuthenticationSaslFinal(client.Output, serverFinal);
        return (true, exchange.ClientKey);
    }

    private static async Task<ControlFrame> ReadPasswordFrameAsync(DuplexConnection client, CancellationToken cancellationToken)
    {
        var frame = await ControlFrame.ReadAsync(client.Input, MaxAuthMessageLength, cancellationToken);
        if (frame.Code != (byte)FrontendMessageCode.Password)
        {
            throw new ProtocolViolationException($"expected a password message, got {FrameHeader.Describe(frame.Code)}");
        }

        return frame;
    }
}
