using System.Security.Cryptography;
using System.Text;

namespace Sluice.Protocol.Authentication;

/// <summary>PostgreSQL's md5 authentication: "md5" + md5hex(md5hex(password + user) + salt).</summary>
public static class Md5Password
{
    private const string Prefix = "md5";

    /// <summary>The stored form: "md5" + md5hex(password + user).</summary>
    public static string Hash(string user, string password)
    {
        ArgumentNullException.ThrowIfNull(user);
        ArgumentNullException.ThrowIfNull(password);
        return Prefix + Md5Hex(Encoding.UTF8.GetBytes(password + user));
    }

    public static bool LooksLikeHash(string text) => text.Length == 35 && text.StartsWith("md5", StringComparison.Ordinal);

    /// <summary>The response to AuthenticationMD5Password, from a stored hash ("md5…") or a plain password.</summary>
    public static string ComputeResponse(string user, string passwordOrHash, ReadOnlySpan<byte> salt)
    {
        ArgumentNullException.ThrowIfNull(passwordOrHash);
        if (salt.Length != 4)
        {
            throw new ArgumentException($"An MD5 salt is 4 bytes, not {salt.Length}.", nameof(salt));
        }

        var stored = LooksLikeHash(passwordOrHash) ? passwordOrHash : Hash(user, passwordOrHash);

        // The inner hex digest is ASCII: 32 bytes, then the 4 salt bytes.
        Span<byte> input = stackalloc byte[36];
        Encoding.ASCII.GetBytes(stored.AsSpan(Prefix.Length), input);
        salt.CopyTo(input.Slice(32));
        return Prefix + Md5Hex(input);
    }

    /// <summary>Checks a client's response in constant time.</summary>
    public static bool Verify(string user, string passwordOrHash, ReadOnlySpan<byte> salt, string response)
    {
        ArgumentNullException.ThrowIfNull(response);
        var expected = ComputeResponse(user, passwordOrHash, salt);
        return CryptographicOperations.FixedTimeEquals(Utf8Bytes(expected), Utf8Bytes(response));
    }

    private static string Md5Hex(ReadOnlySpan<byte> data)
    {
        Span<byte> hash = stackalloc byte[MD5.HashSizeInBytes];
        MD5.HashData(data, hash);
        return Convert.ToHexStringLower(hash);
    }

    private static byte[] Utf8Bytes(string text) => Encoding.UTF8.GetBytes(text);
}
