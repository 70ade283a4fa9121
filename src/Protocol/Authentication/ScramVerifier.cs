namespace Sluice.Protocol.Authentication;

/// <summary>
/// A SCRAM-SHA-256 verifier as PostgreSQL stores it: "SCRAM-SHA-256$&lt;iterations&gt;:&lt;salt&gt;$&lt;StoredKey&gt;:&lt;ServerKey&gt;" (base64 parts).
/// </summary>
public sealed class ScramVerifier
{
    public const int DefaultIterations = 4096;

    public required int Iterations { get; init; }

    public required byte[] Salt { get; init; }

    public required byte[] StoredKey { get; init; }

    public required byte[] ServerKey { get; init; }

    /// <summary>Makes a verifier with a random 16-byte salt (or the given one), as PostgreSQL does.</summary>
    public static ScramVerifier Create(string password, int iterations = DefaultIterations, byte[]? salt = null) => throw new NotImplementedException();

    public static bool TryParse(string text, out ScramVerifier? verifier) => throw new NotImplementedException();

    public static bool LooksLikeVerifier(string text) => text.StartsWith("SCRAM-SHA-256$", StringComparison.Ordinal);

    public override string ToString() => throw new NotImplementedException();
}
