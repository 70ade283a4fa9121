using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Sluice.Proxy.Configuration;

namespace Sluice.Proxy.Security;

/// <summary>
/// The proxy's own certificate and key, loaded once from [tls] cert_file/key_file and shared by every client
/// handshake until a reload loads a new one. Immutable: a reload makes a new context and swaps it in, so a handshake
/// already running keeps the certificate it started with (the old one is left to the GC for that reason).
/// </summary>
internal sealed class ClientTlsContext
{
    /// <summary>TLS 1.0 and 1.1 are broken; PostgreSQL's own default minimum is 1.2 too.</summary>
    public const SslProtocols Protocols = SslProtocols.Tls12 | SslProtocols.Tls13;

    private readonly SslStreamCertificateContext _certificateContext;

    private ClientTlsContext(X509Certificate2 certificate, SslStreamCertificateContext certificateContext, string certFile, string keyFile)
    {
        Certificate = certificate;
        _certificateContext = certificateContext;
        CertFile = certFile;
        KeyFile = keyFile;
        ChannelBinding = TlsServerEndPoint.Compute(certificate);
    }

    public X509Certificate2 Certificate { get; }

    public string CertFile { get; }

    public string KeyFile { get; }

    /// <summary>tls-server-end-point data for SCRAM-SHA-256-PLUS; null when the certificate's signature allows none.</summary>
    public byte[]? ChannelBinding { get; }

    /// <summary>
    /// Reads the certificate (the first in cert_file; any further ones are sent as the chain) and its private key.
    /// Throws <see cref="ConfigException"/> naming the file and the problem: the proxy must not start, or a reload must
    /// not apply, with a certificate that cannot be served.
    /// </summary>
    public static ClientTlsContext Load(string certFile, string keyFile)
    {
        if (certFile.Length == 0 || keyFile.Length == 0)
        {
            throw new ConfigException("tls.cert_file and tls.key_file are required when tls.mode is \"allow\" or \"require\"");
        }

        X509Certificate2 certificate;
        var chain = new X509Certificate2Collection();
        try
        {
            certificate = X509Certificate2.CreateFromPemFile(certFile, keyFile);
            chain.ImportFromPemFile(certFile);
        }
        catch (Exception ex) when (ex is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw new ConfigException($"tls.cert_file \"{certFile}\" / tls.key_file \"{keyFile}\": cannot load the certificate and its key: {ex.Message}", ex);
        }

        try
        {
            if (!certificate.HasPrivateKey)
            {
                throw new ConfigException($"tls.key_file \"{keyFile}\" holds no private key for the certificate in \"{certFile}\"");
            }

            var intermediates = new X509Certificate2Collection();
            foreach (var extra in chain)
            {
                if (extra.RawDataMemory.Span.SequenceEqual(certificate.RawDataMemory.Span))
                {
                    extra.Dispose();
                }
                else
                {
                    intermediates.Add(extra);
                }
            }

            var context = SslStreamCertificateContext.Create(certificate, intermediates, offline: true);
            return new ClientTlsContext(certificate, context, certFile, keyFile);
        }
        catch
        {
            certificate.Dispose();
            throw;
        }
    }

    /// <summary>Options for one handshake (SslStream may keep a reference to them, so each handshake gets its own).</summary>
    public SslServerAuthenticationOptions CreateServerOptions() => new()
    {
        ServerCertificateContext = _certificateContext,
        EnabledSslProtocols = Protocols,
        ClientCertificateRequired = false,
        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        AllowRenegotiation = false,
    };
}
