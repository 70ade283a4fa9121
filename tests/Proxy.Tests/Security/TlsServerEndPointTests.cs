using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Sluice.Proxy.Security;

namespace Sluice.Proxy.Tests.Security;

/// <summary>RFC 5929 §4.1: the certificate's signature hash, except MD5/SHA-1 become SHA-256.</summary>
public sealed class TlsServerEndPointTests
{
    [Fact]
    public void Rsa_sha256_certificate_binds_to_its_sha256_hash()
    {
        using var certificate = RsaCertificate(HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);

        Assert.Equal(SHA256.HashData(certificate.RawData), TlsServerEndPoint.Compute(certificate));
    }

    [Fact]
    public void Rsa_sha384_certificate_binds_to_its_sha384_hash()
    {
        using var certificate = RsaCertificate(HashAlgorithmName.SHA384, RSASignaturePadding.Pkcs1);

        Assert.Equal(SHA384.HashData(certificate.RawData), TlsServerEndPoint.Compute(certificate));
    }

    [Fact]
    public void Sha1_signed_certificate_binds_to_sha256_not_sha1()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=sha1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.Create(request.SubjectName, new Sha1RsaSignatureGenerator(key), DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1), [1]);
        Assert.Equal("1.2.840.113549.1.1.5", certificate.SignatureAlgorithm.Value);

        Assert.Equal(SHA256.HashData(certificate.RawData), TlsServerEndPoint.Compute(certificate));
    }

    [Theory]
    [InlineData("SHA256")]
    [InlineData("SHA384")]
    [InlineData("SHA512")]
    public void Ecdsa_certificate_binds_to_its_signature_hash(string hash)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var certificate = new CertificateRequest("CN=ecdsa", key, new HashAlgorithmName(hash))
            .CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var expected = hash switch
        {
            "SHA256" => SHA256.HashData(certificate.RawData),
            "SHA384" => SHA384.HashData(certificate.RawData),
            _ => SHA512.HashData(certificate.RawData),
        };

        Assert.Equal(expected, TlsServerEndPoint.Compute(certificate));
    }

    [Fact]
    public void Rsa_pss_certificate_allows_no_binding()
    {
        using var certificate = RsaCertificate(HashAlgorithmName.SHA256, RSASignaturePadding.Pss);

        Assert.Null(TlsServerEndPoint.Compute(certificate));
    }

    private static X509Certificate2 RsaCertificate(HashAlgorithmName hash, RSASignaturePadding padding)
    {
        using var key = RSA.Create(2048);
        return new CertificateRequest("CN=rsa", key, hash, padding).CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
    }

    /// <summary>CertificateRequest no longer signs with SHA-1; old certificates out there still are.</summary>
    private sealed class Sha1RsaSignatureGenerator(RSA key) : X509SignatureGenerator
    {
        private static readonly byte[] Sha1WithRsa = [0x30, 0x0D, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x05, 0x05, 0x00];

        public override byte[] GetSignatureAlgorithmIdentifier(HashAlgorithmName hashAlgorithm) => Sha1WithRsa;

        public override byte[] SignData(byte[] data, HashAlgorithmName hashAlgorithm) => key.SignData(data, HashAlgorithmName.SHA1, RSASignaturePadding.Pkcs1);

        protected override PublicKey BuildPublicKey() => new(key);
    }
}
