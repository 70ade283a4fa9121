using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using Sluice.Protocol.Authentication;
using Sluice.Proxy.Configuration;

namespace Sluice.Proxy.Runtime;

/// <summary>
/// SCRAM verifiers for users whose config holds a plain password (computed once per config snapshot, not per login:
/// 4096 PBKDF2 rounds are too dear to repeat), and the stable fake verifiers that make an unknown user look exactly
/// like a known one with a wrong password.
/// </summary>
internal sealed class CredentialCache
{
    private readonly ConditionalWeakTable<UserConfig, ScramVerifier> _verifiers = [];
    private readonly byte[] _fakeSaltKey = RandomNumberGenerator.GetBytes(32);

    /// <summary>The user's verifier, or null when the config holds an md5 hash (SCRAM cannot be done from it).</summary>
    public ScramVerifier? GetScramVerifier(UserConfig user)
    {
        if (user.Password is not { } password || Md5Password.LooksLikeHash(password))
        {
            return null;
        }

        return _verifiers.GetValue(user, static u =>
        {
            var text = u.Password!;
            if (ScramVerifier.LooksLikeVerifier(text))
            {
                return ScramVerifier.TryParse(text, out var parsed) && parsed is not null
                    ? parsed
                    : throw new InvalidOperationException($"user '{u.Name}' has a malformed SCRAM verifier");
            }

            return ScramVerifier.Create(text);
        });
    }

    /// <summary>A verifier no password matches, with a salt that is the same for the same name on every attempt.</summary>
    public ScramVerifier FakeVerifier(string userName)
    {
        var salt = HMACSHA256.HashData(_fakeSaltKey, Encoding.UTF8.GetBytes(userName))[..16];
        return new ScramVerifier
        {
            Iterations = ScramVerifier.DefaultIterations,
            Salt = salt,
            StoredKey = RandomNumberGenerator.GetBytes(32),
            ServerKey = RandomNumberGenerator.GetBytes(32),
        };
    }
}
