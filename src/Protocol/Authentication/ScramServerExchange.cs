using System.Security.Cryptography;
using System.Text;
using Sluice.Protocol.Internal;

namespace Sluice.Protocol.Authentication;

/// <summary>
/// The server side of one SCRAM-SHA-256 exchange (RFC 5802/7677), used to authenticate clients of the proxy.
/// With <c>channelBinding</c> data (tls-server-end-point hash of the proxy's certificate) it also accepts
/// SCRAM-SHA-256-PLUS.
/// </summary>
/// <remarks>
/// As PostgreSQL: the user name in the client-first-message is ignored (the startup packet names the user), an
/// authorization identity is refused, and a client that says "y" (it could bind but thinks the server cannot) is
/// refused when PLUS was offered, since that means someone in between removed PLUS from the offer (RFC 5802 §6).
/// </remarks>
public sealed class ScramServerExchange
{
    public const string Mechanism = "SCRAM-SHA-256";
    public const string MechanismPlus = "SCRAM-SHA-256-PLUS";

    private const string ChannelBindingType = "tls-server-end-point";

    private readonly ScramVerifier _verifier;
    private readonly byte[]? _channelBinding;
    private readonly string _serverNonce;
    private Step _step;
    private string _clientFirstBare = "";
    private string _serverFirst = "";
    private string _nonce = "";
    private byte[] _expectedChannelBinding = [];

    public ScramServerExchange(ScramVerifier verifier, byte[]? channelBinding = null)
        : this(verifier, channelBinding, ScramPrimitives.NewNonce())
    {
    }

    /// <summary>Test hook: a fixed server nonce instead of a random one.</summary>
    internal ScramServerExchange(ScramVerifier verifier, byte[]? channelBinding, string serverNonce)
    {
        ArgumentNullException.ThrowIfNull(verifier);
        _verifier = verifier;
        _channelBinding = channelBinding;
        _serverNonce = serverNonce;
        Mechanisms = channelBinding is null ? [Mechanism] : [MechanismPlus, Mechanism];
    }

    private enum Step
    {
        ExpectClientFirst,
        ExpectClientFinal,
        Succeeded,
        Failed,
    }

    /// <summary>The mechanisms to offer in AuthenticationSASL: PLUS first when channel binding data is present.</summary>
    public IReadOnlyList<string> Mechanisms { get; }

    /// <summary>Why the last step failed; <see cref="ScramFailure.None"/> while all went well.</summary>
    public ScramFailure Failure { get; private set; }

    /// <summary>True once the client proved it knows the password.</summary>
    public bool IsAuthenticated => _step == Step.Succeeded;

    /// <summary>
    /// After success, the client's ClientKey recovered from its proof (RFC 5802: ClientKey = ClientProof XOR
    /// ClientSignature). With it the proxy can log in to a PostgreSQL server that stores the same verifier without
    /// knowing the password (see <see cref="ScramClientExchange(ScramVerifier, byte[])"/>), as PgBouncer does. It is
    /// as secret as the password for that server.
    /// </summary>
    public byte[]? ClientKey { get; private set; }

    /// <summary>
    /// Handles SASLInitialResponse (mechanism + client-first-message). False with an error text when the message is
    /// malformed or asks for something not offered (the proxy answers 08P01 or 28000).
    /// </summary>
    public bool TryHandleClientFirst(string mechanism, ReadOnlySpan<byte> clientFirst, out byte[] serverFirst, out string? error)
    {
        serverFirst = [];
        if (_step != Step.ExpectClientFirst)
        {
            return Fail(ScramFailure.ProtocolViolation, "unexpected SCRAM client-first-message", out error);
        }

        var plus = mechanism == MechanismPlus && _channelBinding is not null;
        if (!plus && mechanism != Mechanism)
        {
            return Fail(ScramFailure.ProtocolViolation, $"the client selected an invalid SASL authentication mechanism \"{mechanism}\"", out error);
        }

        if (!TryDecode(clientFirst, out var text))
        {
            return Fail(ScramFailure.ProtocolViolation, "malformed SCRAM message: not valid UTF-8", out error);
        }

        // gs2-header = gs2-cbind-flag "," [ authzid ] ","
        var flagEnd = text.IndexOf(',', StringComparison.Ordinal);
        if (flagEnd < 0)
        {
            return Fail(ScramFailure.ProtocolViolation, "malformed SCRAM message: no GS2 header", out error);
        }

        var flag = text.AsSpan(0, flagEnd);
        if (flag.StartsWith("p="))
        {
            if (!flag.Slice(2).SequenceEqual(ChannelBindingType))
            {
                return Fail(ScramFailure.NotSupported, $"unsupported SCRAM channel-binding type \"{flag.Slice(2)}\"", out error);
            }

            if (!plus)
            {
                return Fail(ScramFailure.ProtocolViolation, "the client selected SCRAM-SHA-256 without channel binding, but the SCRAM message includes channel binding data", out error);
            }
        }
        else if (flag is "n" or "y")
        {
            if (plus)
            {
                return Fail(ScramFailure.ProtocolViolation, "the client selected SCRAM-SHA-256-PLUS, but the SCRAM message does not include channel binding data", out error);
            }

            if (flag is "y" && _channelBinding is not null)
            {
                return Fail(ScramFailure.ProtocolViolation, "the client supports SCRAM channel binding but thinks the server does not; however, this server does support channel binding", out error);
            }
        }
        else
        {
            return Fail(ScramFailure.ProtocolViolation, $"malformed SCRAM message: unexpected channel-binding flag \"{flag}\"", out error);
        }

        var authzidEnd = text.IndexOf(',', flagEnd + 1);
        if (authzidEnd < 0)
        {
            return Fail(ScramFailure.ProtocolViolation, "malformed SCRAM message: GS2 header not terminated", out error);
        }

        if (authzidEnd != flagEnd + 1)
        {
            return text.AsSpan(flagEnd + 1).StartsWith("a=")
                ? Fail(ScramFailure.NotSupported, "the client uses an authorization identity, which is not supported", out error)
                : Fail(ScramFailure.ProtocolViolation, "malformed SCRAM message: unexpected attribute in GS2 header", out error);
        }

        var gs2Header = text.Substring(0, authzidEnd + 1);
        var bare = text.Substring(authzidEnd + 1);

        // client-first-message-bare = [reserved-mext ","] username "," nonce ["," extensions]
        var parts = bare.Split(',');
        if (ScramPrimitives.TryGetAttribute(parts[0], 'm', out _))
        {
            return Fail(ScramFailure.NotSupported, "the client requires an unsupported SCRAM extension", out error);
        }

        if (parts.Length < 2 || !ScramPrimitives.TryGetAttribute(parts[0], 'n', out _))
        {
            return Fail(ScramFailure.ProtocolViolation, "malformed SCRAM message: expected the user name attribute", out error);
        }

        if (!ScramPrimitives.TryGetAttribute(parts[1], 'r', out var clientNonce) || !ScramPrimitives.IsValidNonce(clientNonce))
        {
            return Fail(ScramFailure.ProtocolViolation, "malformed SCRAM message: expected a valid client nonce", out error);
        }

        _nonce = string.Concat(clientNonce, _serverNonce);
        _clientFirstBare = bare;
        _serverFirst = $"r={_nonce},s={Convert.ToBase64String(_verifier.Salt)},i={_verifier.Iterations}";
        var headerBytes = Encoding.UTF8.GetBytes(gs2Header);
        _expectedChannelBinding = plus ? [.. headerBytes, .. _channelBinding!] : headerBytes;
        _step = Step.ExpectClientFinal;
        serverFirst = Encoding.UTF8.GetBytes(_serverFirst);
        error = null;
        return true;
    }

    /// <summary>Handles the client-final-message; false when the proof is wrong (28P01) or the message malformed.</summary>
    public bool TryHandleClientFinal(ReadOnlySpan<byte> clientFinal, out byte[] serverFinal, out string? error)
    {
        serverFinal = [];
        if (_step != Step.ExpectClientFinal)
        {
            return Fail(ScramFailure.ProtocolViolation, "unexpected SCRAM client-final-message", out error);
        }

        if (!TryDecode(clientFinal, out var text))
        {
            return Fail(ScramFailure.ProtocolViolation, "malformed SCRAM message: not valid UTF-8", out error);
        }

        // client-final-message = channel-binding "," nonce ["," extensions] "," proof
        var parts = text.Split(',');
        if (parts.Length < 3
            || !ScramPrimitives.TryGetAttribute(parts[0], 'c', out var channelBinding)
            || !ScramPrimitives.TryGetAttribute(parts[1], 'r', out var nonce)
            || !ScramPrimitives.TryGetAttribute(parts[^1], 'p', out var proofText))
        {
            return Fail(ScramFailure.ProtocolViolation, "malformed SCRAM message: expected channel binding, nonce and proof attributes", out error);
        }

        if (!ScramPrimitives.TryDecodeBase64(channelBinding, out var bindingBytes))
        {
            return Fail(ScramFailure.ProtocolViolation, "malformed SCRAM message: channel binding is not valid base64", out error);
        }

        if (!bindingBytes.AsSpan().SequenceEqual(_expectedChannelBinding))
        {
            return Fail(ScramFailure.ProtocolViolation, "SCRAM channel binding check failed", out error);
        }

        if (!nonce.SequenceEqual(_nonce))
        {
            return Fail(ScramFailure.ProtocolViolation, "SCRAM nonce mismatch", out error);
        }

        if (!ScramPrimitives.TryDecodeBase64(proofText, out var proof) || proof.Length != ScramPrimitives.KeyLength)
        {
            return Fail(ScramFailure.ProtocolViolation, "malformed SCRAM message: invalid client proof", out error);
        }

        var withoutProof = text.Substring(0, text.LastIndexOf(','));
        var authMessage = Encoding.UTF8.GetBytes(string.Concat(_clientFirstBare, ",", _serverFirst, ",", withoutProof));
        var clientSignature = ScramPrimitives.Signature(_verifier.StoredKey, authMessage);
        var clientKey = ScramPrimitives.Xor(proof, clientSignature);
        if (!CryptographicOperations.FixedTimeEquals(ScramPrimitives.StoredKey(clientKey), _verifier.StoredKey))
        {
            return Fail(ScramFailure.InvalidProof, "password authentication failed: the SCRAM client proof is wrong", out error);
        }

        ClientKey = clientKey;
        _step = Step.Succeeded;
        serverFinal = Encoding.UTF8.GetBytes("v=" + Convert.ToBase64String(ScramPrimitives.Signature(_verifier.ServerKey, authMessage)));
        error = null;
        return true;
    }

    private static bool TryDecode(ReadOnlySpan<byte> bytes, out string text)
    {
        try
        {
            text = ProtocolEncoding.Strict.GetString(bytes);
            return true;
        }
        catch (DecoderFallbackException)
        {
            text = "";
            return false;
        }
    }

    private bool Fail(ScramFailure failure, string message, out string? error)
    {
        Failure = failure;
        _step = Step.Failed;
        error = message;
        return false;
    }
}
