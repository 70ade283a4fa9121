using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Sluice.Protocol.Internal;

namespace Sluice.Protocol.Authentication;

/// <summary>The client side of one SCRAM-SHA-256 exchange, used by the proxy to log in to PostgreSQL.</summary>
/// <remarks>It does not bind to the TLS channel: it sends the "n" flag, so the server must not require PLUS.</remarks>
public sealed class ScramClientExchange
{
    private const string Gs2Header = "n,,";

    private readonly string? _password;
    private readonly ScramVerifier? _verifier;
    private readonly byte[]? _clientKey;
    private readonly string _clientNonce;
    private readonly string _user;
    private Step _step;
    private string _clientFirstBare = "";
    private byte[] _expectedServerSignature = [];

    public ScramClientExchange(string password)
        : this(password, ScramPrimitives.NewNonce(), user: "")
    {
    }

    /// <summary>
    /// Logs in without the password, from the ClientKey a client revealed to <see cref="ScramServerExchange"/> and the
    /// verifier it was checked against. This only works when the server stores the very same verifier (same salt and
    /// iterations); <see cref="TryHandleServerFirst"/> fails otherwise.
    /// </summary>
    public ScramClientExchange(ScramVerifier verifier, byte[] clientKey)
        : this(new ScramKeys(verifier, clientKey))
    {
    }

    /// <summary>As <see cref="ScramClientExchange(ScramVerifier, byte[])"/>, with both already checked to belong together.</summary>
    public ScramClientExchange(ScramKeys keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        _verifier = keys.Verifier;
        _clientKey = keys.ClientKey;
        _clientNonce = ScramPrimitives.NewNonce();
        _user = "";
    }

    /// <summary>Test hook: a fixed client nonce and user name (PostgreSQL ignores the name; RFC test vectors do not).</summary>
    internal ScramClientExchange(string password, string clientNonce, string user)
    {
        ArgumentNullException.ThrowIfNull(password);
        _password = password;
        _clientNonce = clientNonce;
        _user = user;
    }

    private enum Step
    {
        Start,
        ExpectServerFirst,
        ExpectServerFinal,
        Done,
    }

    /// <summary>client-first-message ("n,,n=,r=&lt;nonce&gt;"); PostgreSQL ignores the user name here.</summary>
    public byte[] CreateClientFirst()
    {
        if (_step != Step.Start)
        {
            throw new InvalidOperationException("The client-first-message was already created.");
        }

        var user = _user.Replace("=", "=3D", StringComparison.Ordinal).Replace(",", "=2C", StringComparison.Ordinal);
        _clientFirstBare = $"n={user},r={_clientNonce}";
        _step = Step.ExpectServerFirst;
        return Encoding.UTF8.GetBytes(Gs2Header + _clientFirstBare);
    }

    /// <summary>From server-first-message to client-final-message; false (with an error) when it is malformed or the nonce does not match.</summary>
    public bool TryHandleServerFirst(ReadOnlySpan<byte> serverFirst, out byte[] clientFinal, out string? error)
    {
        clientFinal = [];
        if (_step != Step.ExpectServerFirst)
        {
            return Fail("unexpected SCRAM server-first-message", out error);
        }

        string text;
        try
        {
            text = ProtocolEncoding.Strict.GetString(serverFirst);
        }
        catch (DecoderFallbackException)
        {
            return Fail("malformed SCRAM server-first-message: not valid UTF-8", out error);
        }

        // server-first-message = [reserved-mext ","] nonce "," salt "," iteration-count ["," extensions]
        var parts = text.Split(',');
        if (ScramPrimitives.TryGetAttribute(parts[0], 'm', out _))
        {
            return Fail("the server requires an unsupported SCRAM extension", out error);
        }

        if (parts.Length < 3
            || !ScramPrimitives.TryGetAttribute(parts[0], 'r', out var nonce)
            || !ScramPrimitives.TryGetAttribute(parts[1], 's', out var saltText)
            || !ScramPrimitives.TryGetAttribute(parts[2], 'i', out var iterationText))
        {
            return Fail("malformed SCRAM server-first-message: expected nonce, salt and iteration count", out error);
        }

        if (!ScramPrimitives.IsValidNonce(nonce) || nonce.Length <= _clientNonce.Length || !nonce.StartsWith(_clientNonce))
        {
            return Fail("invalid SCRAM server-first-message: the server nonce does not extend the client nonce", out error);
        }

        if (!ScramPrimitives.TryDecodeBase64(saltText, out var salt))
        {
            return Fail("malformed SCRAM server-first-message: invalid salt", out error);
        }

        if (!int.TryParse(iterationText, NumberStyles.None, CultureInfo.InvariantCulture, out var iterations) || iterations < 1)
        {
            return Fail("malformed SCRAM server-first-message: invalid iteration count", out error);
        }

        byte[] clientKey;
        byte[] serverKey;
        if (_verifier is not null)
        {
            if (iterations != _verifier.Iterations || !salt.AsSpan().SequenceEqual(_verifier.Salt))
            {
                return Fail("the server's SCRAM salt or iteration count differs from the configured verifier, so the password is needed to log in", out error);
            }

            clientKey = _clientKey!;
            serverKey = _verifier.ServerKey;
        }
        else
        {
            var saltedPassword = ScramPrimitives.SaltedPassword(_password!, salt, iterations);
            clientKey = ScramPrimitives.ClientKey(saltedPassword);
            serverKey = ScramPrimitives.ServerKey(saltedPassword);
        }

        // "biws" is base64("n,,"): no channel binding, no authorization identity.
        var withoutProof = string.Concat("c=biws,r=", nonce);
        var authMessage = Encoding.UTF8.GetBytes(string.Concat(_clientFirstBare, ",", text, ",", withoutProof));
        var clientSignature = ScramPrimitives.Signature(ScramPrimitives.StoredKey(clientKey), authMessage);
        var proof = ScramPrimitives.Xor(clientKey, clientSignature);
        _expectedServerSignature = ScramPrimitives.Signature(serverKey, authMessage);
        _step = Step.ExpectServerFinal;
        clientFinal = Encoding.UTF8.GetBytes(withoutProof + ",p=" + Convert.ToBase64String(proof));
        error = null;
        return true;
    }

    /// <summary>True when the server proved it knows the password.</summary>
    public bool VerifyServerFinal(ReadOnlySpan<byte> serverFinal)
    {
        if (_step != Step.ExpectServerFinal)
        {
            return false;
        }

        _step = Step.Done;

        // server-final-message = (server-error / verifier) ["," extensions]
        var comma = serverFinal.IndexOf((byte)',');
        var verifier = comma < 0 ? serverFinal : serverFinal.Slice(0, comma);
        if (!verifier.StartsWith("v="u8))
        {
            return false;
        }

        Span<char> base64 = stackalloc char[64];
        var signatureText = verifier.Slice(2);
        if (signatureText.Length > base64.Length)
        {
            return false;
        }

        for (var i = 0; i < signatureText.Length; i++)
        {
            base64[i] = (char)signatureText[i];
        }

        return ScramPrimitives.TryDecodeBase64(base64.Slice(0, signatureText.Length), out var signature)
            && CryptographicOperations.FixedTimeEquals(signature, _expectedServerSignature);
    }

    private bool Fail(string message, out string? error)
    {
        _step = Step.Done;
        error = message;
        return false;
    }
}
