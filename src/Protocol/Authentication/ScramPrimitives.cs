using System.Security.Cryptography;

namespace Sluice.Protocol.Authentication;

/// <summary>The SCRAM-SHA-256 building blocks of RFC 5802 section 3.</summary>
internal static class ScramPrimitives
{
    public const int KeyLength = 32;

    /// <summary>PostgreSQL's SCRAM_RAW_NONCE_LEN: 18 random bytes, 24 base64 characters.</summary>
    private const int RawNonceLength = 18;

    public static byte[] SaltedPassword(string password, byte[] salt, int iterations)
        => Rfc2898DeriveBytes.Pbkdf2(SaslPrep.PreparePassword(password), salt, iterations, HashAlgorithmName.SHA256, KeyLength);

    public static byte[] ClientKey(byte[] saltedPassword) => HMACSHA256.HashData(saltedPassword, "Client Key"u8);

    public static byte[] ServerKey(byte[] saltedPassword) => HMACSHA256.HashData(saltedPassword, "Server Key"u8);

    public static byte[] StoredKey(byte[] clientKey) => SHA256.HashData(clientKey);

    public static byte[] Signature(byte[] key, byte[] authMessage) => HMACSHA256.HashData(key, authMessage);

    public static byte[] Xor(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right)
    {
        var result = new byte[left.Length];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = (byte)(left[i] ^ right[i]);
        }

        return result;
    }

    public static string NewNonce() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(RawNonceLength));

    /// <summary>RFC 5802 "printable": 0x21-0x7E except ','.</summary>
    public static bool IsValidNonce(ReadOnlySpan<char> nonce)
    {
        if (nonce.IsEmpty)
        {
            return false;
        }

        foreach (var c in nonce)
        {
            if (c is < (char)0x21 or > (char)0x7E or ',')
            {
                return false;
            }
        }

        return true;
    }

    public static bool TryDecodeBase64(ReadOnlySpan<char> text, out byte[] bytes)
    {
        var buffer = new byte[((text.Length + 3) / 4) * 3];
        if (text.IsEmpty || !Convert.TryFromBase64Chars(text, buffer, out var written))
        {
            bytes = [];
            return false;
        }

        bytes = buffer.AsSpan(0, written).ToArray();
        return true;
    }

    /// <summary>Splits "x=value" and checks the attribute letter.</summary>
    public static bool TryGetAttribute(ReadOnlySpan<char> part, char name, out ReadOnlySpan<char> value)
    {
        if (part.Length >= 2 && part[0] == name && part[1] == '=')
        {
            value = part.Slice(2);
            return true;
        }

        value = default;
        return false;
    }
}
