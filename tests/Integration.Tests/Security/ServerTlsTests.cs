using Npgsql;
using Sluice.Integration.Tests.Fixtures;
using Sluice.Integration.Tests.Security.Support;
using Sluice.Proxy.Configuration;

namespace Sluice.Integration.Tests.Security;

/// <summary>TLS between Sluice and PostgreSQL ([tls] server_mode), against a server that takes TLS logins only.</summary>
[Collection(PostgresCollection.Name)]
public sealed class ServerTlsTests(PostgresFixture fixture, TlsPostgresFixture tlsServer) : IClassFixture<TlsPostgresFixture>
{
    private const string Database = "postgres";

    [Fact]
    public async Task Require_mode_encrypts_the_connection_to_the_server()
    {
        await using var proxy = await StartAsync(ServerTlsMode.Require, "127.0.0.1", tlsServer.Port);

        Assert.True(await BackendUsesSslAsync(proxy));
    }

    [Fact]
    public async Task Encrypted_server_connections_are_pooled_and_reused()
    {
        await using var proxy = await StartAsync(ServerTlsMode.Require, "127.0.0.1", tlsServer.Port);

        var first = await BackendPidAsync(proxy);
        var second = await BackendPidAsync(proxy);

        // One TLS server connection serves both clients in turn: nothing left unread on it makes the pool drop it.
        Assert.Equal(first, second);
    }

    [Fact]
    public async Task Plaintext_towards_that_server_is_rejected_by_its_pg_hba()
    {
        // What the other tests rely on: this server refuses logins without TLS, so their success means TLS was used.
        await using var proxy = await StartAsync(ServerTlsMode.Disable, "127.0.0.1", tlsServer.Port);

        var error = await Assert.ThrowsAsync<PostgresException>(() => BackendUsesSslAsync(proxy));

        Assert.Equal(PostgresErrorCodes.InvalidAuthorizationSpecification, error.SqlState);
        Assert.Contains("no encryption", error.MessageText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_full_accepts_the_server_certificate_for_the_name_it_carries()
    {
        await using var proxy = await StartAsync(ServerTlsMode.VerifyFull, "localhost", tlsServer.Port, tlsServer.Pki.CaFile);

        Assert.True(await BackendUsesSslAsync(proxy));
    }

    [Fact]
    public async Task Verify_full_refuses_a_host_name_the_certificate_does_not_carry()
    {
        await using var proxy = await StartAsync(ServerTlsMode.VerifyFull, "127.0.0.1", tlsServer.Port, tlsServer.Pki.CaFile);

        var error = await Assert.ThrowsAsync<PostgresException>(() => BackendUsesSslAsync(proxy));

        Assert.Equal(PostgresErrorCodes.ConnectionFailure, error.SqlState);
        Assert.Contains("TLS handshake with server 127.0.0.1", error.MessageText, StringComparison.Ordinal);
        Assert.Contains("NameMismatch", error.MessageText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_full_refuses_a_certificate_from_a_ca_it_does_not_trust()
    {
        using var otherPki = TestPki.Create("Not The Server's CA");
        await using var proxy = await StartAsync(ServerTlsMode.VerifyFull, "localhost", tlsServer.Port, otherPki.CaFile);

        var error = await Assert.ThrowsAsync<PostgresException>(() => BackendUsesSslAsync(proxy));

        Assert.Equal(PostgresErrorCodes.ConnectionFailure, error.SqlState);
        Assert.Contains("certificate chain", error.MessageText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Prefer_uses_tls_where_offered_and_plaintext_where_not()
    {
        await using (var proxy = await StartAsync(ServerTlsMode.Prefer, "127.0.0.1", tlsServer.Port))
        {
            Assert.True(await BackendUsesSslAsync(proxy));
        }

        await using (var proxy = await StartAsync(ServerTlsMode.Prefer, "127.0.0.1", fixture.PrimaryPort))
        {
            Assert.False(await BackendUsesSslAsync(proxy));
        }
    }

    [Fact]
    public async Task Require_against_a_server_without_tls_fails_with_08006_saying_why()
    {
        await using var proxy = await StartAsync(ServerTlsMode.Require, "127.0.0.1", fixture.PrimaryPort);

        var error = await Assert.ThrowsAsync<PostgresException>(() => BackendUsesSslAsync(proxy));

        Assert.Equal(PostgresErrorCodes.ConnectionFailure, error.SqlState);
        Assert.Contains("does not accept TLS", error.MessageText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancel_reaches_a_server_that_is_talked_to_over_tls()
    {
        await using var proxy = await StartAsync(ServerTlsMode.Require, "127.0.0.1", tlsServer.Port);
        await using var connection = new NpgsqlConnection(ConnectionString(proxy));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT pg_sleep(60)", connection);
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(1));

        var error = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => command.ExecuteScalarAsync(cancel.Token));

        Assert.Equal(PostgresErrorCodes.QueryCanceled, Assert.IsType<PostgresException>(error.InnerException).SqlState);
    }

    private async Task<RunningProxy> StartAsync(ServerTlsMode mode, string host, int port, string caFile = "")
    {
        var cluster = tlsServer.Cluster;
        var config = fixture.CreateProxyConfig() with
        {
            Tls = new TlsSection { ServerMode = mode, ServerCaFile = caFile },
            Users = [new UserConfig { Name = cluster.Superuser, Password = cluster.SuperuserPassword }],
            Databases = [new DatabaseConfig { Name = Database, Servers = [new BackendServerConfig { Host = host, Port = port, Role = ServerRole.Primary }] }],
        };
        return await fixture.StartProxyAsync(config);
    }

    private string ConnectionString(RunningProxy proxy) =>
        proxy.ConnectionString(tlsServer.Cluster.Superuser, tlsServer.Cluster.SuperuserPassword, Database);

    private async Task<bool> BackendUsesSslAsync(RunningProxy proxy)
    {
        await using var connection = new NpgsqlConnection(ConnectionString(proxy));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", connection);
        return (bool)(await command.ExecuteScalarAsync())!;
    }

    private async Task<int> BackendPidAsync(RunningProxy proxy)
    {
        await using var connection = new NpgsqlConnection(ConnectionString(proxy));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT pg_backend_pid()", connection);
        return (int)(await command.ExecuteScalarAsync())!;
    }
}
