using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Sluice.Protocol.Authentication;

/// <summary>
/// A SCRAM-SHA-256 verifier as PostgreSQL stores it: "SCRAM-SHA-256$&lt;iterations&gt;:&lt;salt&gt;$&lt;StoredKey&gt;:&lt;ServerKey&gt;" (base64 parts).
/// </summary>
public sealed class ScramVerifier
{
    public const int DefaultIterations = 4096;

    private const string Prefix = "SCRAM-SHA-256$";
    private const int DefaultSaltLength = 16;

    public required int Iterations { get; init; }

    public required byte[] Salt { get; init; }

    public required byte[] StoredKey { get; init; }

    public required byte[] ServerKey { get; init; }

    /// <summary>
    /// Makes a verifier with a random 16-byte salt (or the given one), as PostgreSQL does. The password goes through
    /// SASLprep as PostgreSQL's does (see <see cref="SaslPrep"/> for what is and is not done).
    /// </summary>
    public static ScramVerifier Create(string password, int iterations = DefaultIterations, byte[]? salt = null)
    {
        ArgumentNullException.ThrowIfNull(password);
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1);
        if (salt is { Length: 0 })
        {
            throw new ArgumentException("A SCRAM salt cannot be empty.", nameof(salt));
        }

        salt ??= RandomNumberGenerator.GetBytes(DefaultSaltLength);
        var saltedPassword = ScramPrimitives.SaltedPassword(password, salt, iterations);
        return new ScramVerifier
        {
            Iterations = iterations,
            Salt = salt,
            StoredKey = ScramPrimitives.StoredKey(ScramPrimitives.ClientKey(saltedPassword)),
            ServerKey = ScramPrimitives.ServerKey(saltedPassword),
        };
    }

    /// <summary>Parses the stored form; false for anything else, including keys that are not 32 bytes.</summary>
    public static bool TryParse(string text, out ScramVerifier? verifier)
    {
        verifier = null;
        if (text is null || !LooksLikeVerifier(text))
        {
            return false;
        }

        var rest = text.AsSpan(Prefix.Length);
        var dollar = rest.IndexOf('$');
        if (dollar < 0)
        {
            return false;
        }

        var parameters = rest.Slice(0, dollar);
        var keys = rest.Slice(dollar + 1);
        var colon = parameters.IndexOf(':');
        var keysColon = keys.IndexOf(':');
        if (colon < 0 || keysColon < 0
            || !int.TryParse(parameters.Slice(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out var iterations) || iterations < 1
            || !ScramPrimitives.TryDecodeBase64(parameters.Slice(colon + 1), out var salt)
            || !ScramPrimitives.TryDecodeBase64(keys.Slice(0, keysColon), out var storedKey) || storedKey.Length != ScramPrimitives.KeyLength
            || !ScramPrimitives.TryDecodeBase64(keys.Slice(keysColon + 1), out var serverKey) || serverKey.Length != ScramPrimitives.KeyLength)
        {
            return false;
        }

        verifier = new ScramVerifier { Iterations = iterations, Salt = salt, StoredKey = storedKey, ServerKey = serverKey };
        return true;
    }

    public static bool LooksLikeVerifier(string text) => text.StartsWith("SCRAM-SHA-256$", StringComparison.Ordinal);

    public override string ToString()
    {
        var builder = new StringBuilder(Prefix, 140);
        builder.Append(Iterations.ToString(CultureInfo.InvariantCulture))
            .Append(':').Append(Convert.ToBase64String(Salt))
            .Append('$').Append(Convert.ToBase64String(StoredKey))
            .Append(':').Append(Convert.ToBase64String(ServerKey));
        return builder.ToString();
    }
}
