using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Sluice.Proxy.Security;

/// <summary>
/// The "tls-server-end-point" channel binding (RFC 5929 §4.1) that SCRAM-SHA-256-PLUS checks: a hash of the
/// certificate the proxy presents. A client that binds to it knows nobody in between terminated its TLS session.
/// </summary>
internal static class TlsServerEndPoint
{
    /// <summary>
    /// The hash of the certificate's DER encoding, with the hash function of its signature algorithm, except that
    /// MD5 and SHA-1 are replaced by SHA-256. Null when the signature algorithm names no usable hash (Ed25519,
    /// RSASSA-PSS, SHA-224): PostgreSQL cannot bind to such certificates either, so SCRAM-SHA-256-PLUS is not offered.
    /// </summary>
    public static byte[]? Compute(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var der = certificate.RawData;
        return HashFor(certificate.SignatureAlgorithm.Value) switch
        {
            HashKind.Sha256 => SHA256.HashData(der),
            HashKind.Sha384 => SHA384.HashData(der),
            HashKind.Sha512 => SHA512.HashData(der),
            _ => null,
        };
    }

    private enum HashKind
    {
        None,
        Sha256,
        Sha384,
        Sha512,
    }

    private static HashKind HashFor(string? signatureAlgorithmOid) => signatureAlgorithmOid switch
    {
        // RSA PKCS#1 v1.5: md5, sha1, sha256, sha384, sha512.
        "1.2.840.113549.1.1.4" or "1.2.840.113549.1.1.5" or "1.2.840.113549.1.1.11" => HashKind.Sha256,
        "1.2.840.113549.1.1.12" => HashKind.Sha384,
        "1.2.840.113549.1.1.13" => HashKind.Sha512,

        // ECDSA: sha1, sha256, sha384, sha512.
        "1.2.840.10045.4.1" or "1.2.840.10045.4.3.2" => HashKind.Sha256,
        "1.2.840.10045.4.3.3" => HashKind.Sha384,
        "1.2.840.10045.4.3.4" => HashKind.Sha512,

        // DSA: sha1, sha256.
        "1.2.840.10040.4.3" or "2.16.840.1.101.3.4.3.2" => HashKind.Sha256,
        _ => HashKind.None,
    };
}
