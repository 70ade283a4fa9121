using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Abstractions;
using Sluice.Proxy.Configuration;
using Sluice.Proxy.Hosting;
using Sluice.Proxy.Security;

namespace Sluice.Proxy.Tests.Security;

/// <summary>Certificates are read when the proxy starts or reloads, and a bad one stops that with a clear message.</summary>
public sealed class TlsSetupTests : IDisposable
{
    private readonly TestPki _pki = TestPki.Create();

    [Fact]
    public void Certificate_and_key_load_with_their_channel_binding()
    {
        var issued = _pki.Issue("proxy");

        var context = ClientTlsContext.Load(issued.CertFile, issued.KeyFile);

        Assert.Equal(issued.Certificate.Thumbprint, context.Certificate.Thumbprint);
        Assert.True(context.Certificate.HasPrivateKey);
        Assert.Equal(SHA256.HashData(issued.Certificate.RawData), context.ChannelBinding);
    }

    [Fact]
    public void Key_of_another_certificate_is_a_config_error_naming_both_files()
    {
        var proxy = _pki.Issue("proxy");
        var other = _pki.Issue("other");

        var error = Assert.Throws<ConfigException>(() => ClientTlsContext.Load(proxy.CertFile, other.KeyFile));

        Assert.Contains(proxy.CertFile, error.Message, StringComparison.Ordinal);
        Assert.Contains(other.KeyFile, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_key_file_is_a_config_error()
    {
        var proxy = _pki.Issue("proxy");
        var missing = Path.Combine(_pki.Directory, "missing.key");

        var error = Assert.Throws<ConfigException>(() => ClientTlsContext.Load(proxy.CertFile, missing));

        Assert.Contains(missing, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void File_without_a_pem_certificate_is_a_config_error()
    {
        var proxy = _pki.Issue("proxy");
        var garbage = Path.Combine(_pki.Directory, "garbage.crt");
        File.WriteAllText(garbage, "this is not a certificate\n");

        var error = Assert.Throws<ConfigException>(() => ClientTlsContext.Load(garbage, proxy.KeyFile));

        Assert.Contains("cannot load the certificate", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartAsync_with_a_certificate_that_cannot_be_loaded_throws_a_config_error()
    {
        var proxy = _pki.Issue("proxy");
        var garbage = Path.Combine(_pki.Directory, "garbage.crt");
        File.WriteAllText(garbage, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
        var config = Config(new TlsSection { Mode = TlsMode.Require, CertFile = garbage, KeyFile = proxy.KeyFile });

        var error = await Assert.ThrowsAsync<ConfigException>(() => ProxyServer.StartAsync(config, NullLoggerFactory.Instance));

        Assert.Contains("tls.cert_file", error.Message, StringComparison.Ordinal);
        Assert.Contains(garbage, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartAsync_with_an_unreadable_server_ca_file_throws_a_config_error()
    {
        var garbage = Path.Combine(_pki.Directory, "garbage-ca.crt");
        File.WriteAllText(garbage, "no certificates here\n");
        var config = Config(new TlsSection { ServerMode = ServerTlsMode.VerifyFull, ServerCaFile = garbage });

        var error = await Assert.ThrowsAsync<ConfigException>(() => ProxyServer.StartAsync(config, NullLoggerFactory.Instance));

        Assert.Contains("tls.server_ca_file", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reload_reads_the_certificate_again_and_a_broken_one_keeps_the_old()
    {
        var first = _pki.Issue("proxy");
        var config = Config(new TlsSection { Mode = TlsMode.Allow, CertFile = first.CertFile, KeyFile = first.KeyFile });
        await using var server = await ProxyServer.StartAsync(config, NullLoggerFactory.Instance);
        var security = server.Runtime.Security;
        Assert.Equal(first.Certificate.Thumbprint, security.ClientTls?.Certificate.Thumbprint);

        // Same paths, new contents (as certbot renews in place): a reload serves the new certificate.
        var renewed = _pki.Issue("proxy");
        server.Reload(config);
        Assert.Equal(renewed.Certificate.Thumbprint, security.ClientTls?.Certificate.Thumbprint);

        File.WriteAllText(renewed.CertFile, "broken\n");
        var error = Assert.Throws<ConfigException>(() => server.Reload(config with { Limits = new LimitsSection { ClientLoginTimeout = TimeSpan.FromSeconds(3) } }));

        Assert.Contains(renewed.CertFile, error.Message, StringComparison.Ordinal);
        Assert.Equal(renewed.Certificate.Thumbprint, security.ClientTls?.Certificate.Thumbprint);
        Assert.Equal(TimeSpan.FromSeconds(15), server.Runtime.Config.Limits.ClientLoginTimeout);
    }

    [Fact]
    public void Server_tls_options_are_loaded_once_per_config_snapshot()
    {
        var tls = new TlsSection { ServerMode = ServerTlsMode.VerifyFull, ServerCaFile = _pki.CaFile };

        var first = ServerTlsOptions.For(tls);

        Assert.Same(first, ServerTlsOptions.For(tls));
        Assert.NotSame(first, ServerTlsOptions.For(tls with { }));
        Assert.Same(ServerTlsOptions.Disabled, ServerTlsOptions.For(new TlsSection()));
    }

    public void Dispose() => _pki.Dispose();

    private static ProxyConfig Config(TlsSection tls) => new()
    {
        Server = new ServerSection { Listen = ["127.0.0.1:0"], HttpListen = "" },
        Tls = tls,
    };
}
