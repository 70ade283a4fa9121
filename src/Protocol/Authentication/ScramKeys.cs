using System.Security.Cryptography;

namespace Sluice.Protocol.Authentication;

/// <summary>
/// What logs in to PostgreSQL with SCRAM without the password: the verifier PostgreSQL stores and the ClientKey a client
/// revealed by proving it knows the password (<see cref="ScramServerExchange.ClientKey"/>). Equal when both are.
/// </summary>
/// <remarks>Secret material: <see cref="ToString"/> shows none of it.</remarks>
public sealed class ScramKeys : IEquatable<ScramKeys>
{
    public ScramKeys(ScramVerifier verifier, byte[] clientKey)
    {
        ArgumentNullException.ThrowIfNull(verifier);
        ArgumentNullException.ThrowIfNull(clientKey);
        if (!CryptographicOperations.FixedTimeEquals(ScramPrimitives.StoredKey(clientKey), verifier.StoredKey))
        {
            throw new ArgumentException("The ClientKey does not belong to the verifier.", nameof(clientKey));
        }

        Verifier = verifier;
        ClientKey = clientKey;
    }

    public ScramVerifier Verifier { get; }

    public byte[] ClientKey { get; }

    public bool Equals(ScramKeys? other) =>
        other is not null
        && Verifier.Iterations == other.Verifier.Iterations
        && Verifier.Salt.AsSpan().SequenceEqual(other.Verifier.Salt)
        && CryptographicOperations.FixedTimeEquals(Verifier.ServerKey, other.Verifier.ServerKey)
        && CryptographicOperations.FixedTimeEquals(ClientKey, other.ClientKey);

    public override bool Equals(object? obj) => Equals(obj as ScramKeys);

    public override int GetHashCode() => HashCode.Combine(Verifier.Iterations, BitConverter.ToInt32(Verifier.StoredKey, 0));

    public override string ToString() => "ScramKeys { **** }";
}
