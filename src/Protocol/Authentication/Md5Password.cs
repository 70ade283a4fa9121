namespace Sluice.Protocol.Authentication;

/// <summary>PostgreSQL's md5 authentication: "md5" + md5hex(md5hex(password + user) + salt).</summary>
public static class Md5Password
{
    /// <summary>The stored form: "md5" + md5hex(password + user).</summary>
    public static string Hash(string user, string password) => throw new NotImplementedException();

    public static bool LooksLikeHash(string text) => text.Length == 35 && text.StartsWith("md5", StringComparison.Ordinal);

    /// <summary>The response to AuthenticationMD5Password, from a stored hash ("md5…") or a plain password.</summary>
    public static string ComputeResponse(string user, string passwordOrHash, ReadOnlySpan<byte> salt) => throw new NotImplementedException();

    /// <summary>Checks a client's response in constant time.</summary>
    public static bool Verify(string user, string passwordOrHash, ReadOnlySpan<byte> salt, string response) => throw new NotImplementedException();
}
