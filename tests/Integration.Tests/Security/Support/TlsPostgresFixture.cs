using Sluice.Proxy.Demo;

namespace Sluice.Integration.Tests.Security.Support;

/// <summary>
/// A primary-only PostgreSQL with ssl = on whose pg_hba.conf rejects plaintext TCP logins, and a certificate that names
/// only "localhost" (not 127.0.0.1), issued by <see cref="Pki"/>: so host-name checks can pass and fail on one server.
/// </summary>
public sealed class TlsPostgresFixture : IAsyncLifetime
{
    private TestPki? _pki;
    private PostgresCluster? _cluster;

    public PostgresCluster Cluster => _cluster ?? throw new InvalidOperationException("not started");

    internal TestPki Pki => _pki ?? throw new InvalidOperationException("not started");

    public int Port => Cluster.PrimaryPort;

    public async Task InitializeAsync()
    {
        _pki = TestPki.Create("Sluice Test Server CA");
        var server = _pki.Issue("postgres-server", dnsNames: ["localhost"], addresses: []);
        var installation = PostgresInstallation.Find();
        await installation.GiveToServerUserAsync(_pki.Directory, CancellationToken.None);
        _cluster = await PostgresCluster.StartAsync(new PostgresClusterOptions
        {
            WithReplica = false,
            ExtraSettings =
            [
                "ssl = on",
                $"ssl_cert_file = '{server.CertFile}'",
                $"ssl_key_file = '{server.KeyFile}'",
            ],
            ExtraHbaLines = ["hostnossl all all 127.0.0.1/32 reject"],
        });
    }

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }

        _pki?.Dispose();
    }
}
