using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Sluice.Proxy.Configuration;

namespace Sluice.Proxy.Security;

/// <summary>
/// How the proxy talks TLS to PostgreSQL servers ([tls] server_mode, server_ca_file), with the CA certificates read
/// once per config snapshot.
/// </summary>
internal sealed class ServerTlsOptions
{
    private static readonly ConditionalWeakTable<TlsSection, ServerTlsOptions> s_bySection = [];

    private readonly X509ChainPolicy? _chainPolicy;

    private ServerTlsOptions(ServerTlsMode mode, X509ChainPolicy? chainPolicy, string caFile)
    {
        Mode = mode;
        _chainPolicy = chainPolicy;
        CaFile = caFile;
    }

    /// <summary>Plaintext towards servers (server_mode = "disable").</summary>
    public static ServerTlsOptions Disabled { get; } = new(ServerTlsMode.Disable, null, "");

    public ServerTlsMode Mode { get; }

    /// <summary>server_ca_file; empty = the system's trusted roots (only used by verify-full).</summary>
    public string CaFile { get; }

    /// <summary>
    /// The options for a config snapshot's [tls] section, loaded on first use and then kept as long as the snapshot
    /// lives. Throws <see cref="ConfigException"/> when server_ca_file cannot be read; the proxy asks at startup and on
    /// reload (<see cref="ProxySecurity.Apply"/>), so a bad file stops those and never a server login.
    /// </summary>
    public static ServerTlsOptions For(TlsSection tls)
    {
        ArgumentNullException.ThrowIfNull(tls);
        if (tls.ServerMode == ServerTlsMode.Disable)
        {
            return Disabled;
        }

        return s_bySection.GetValue(tls, static section => Load(section.ServerMode, section.ServerCaFile));
    }

    public static ServerTlsOptions Load(ServerTlsMode mode, string caFile)
    {
        if (mode == ServerTlsMode.Disable)
        {
            return Disabled;
        }

        if (mode != ServerTlsMode.VerifyFull || caFile.Length == 0)
        {
            // require/prefer encrypt without checking who answers (libpq's sslmode=require); verify-full without a CA
            // file trusts the system's roots.
            return new ServerTlsOptions(mode, null, caFile);
        }

        var roots = new X509Certificate2Collection();
        try
        {
            roots.ImportFromPemFile(caFile);
        }
        catch (Exception ex) when (ex is CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw new ConfigException($"tls.server_ca_file \"{caFile}\": cannot read the CA certificates: {ex.Message}", ex);
        }

        if (roots.Count == 0)
        {
            throw new ConfigException($"tls.server_ca_file \"{caFile}\" holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
        }

        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
        };
        policy.CustomTrustStore.AddRange(roots);
        return new ServerTlsOptions(mode, policy, caFile);
    }

    /// <summary>The chain policy for one handshake (a copy: SslStream may change what it is given).</summary>
    public X509ChainPolicy? CreateChainPolicy() => _chainPolicy?.Clone();
}
