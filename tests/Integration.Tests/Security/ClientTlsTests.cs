using System.Security.Authentication;
using Npgsql;
using Sluice.Integration.Tests.Fixtures;
using Sluice.Integration.Tests.Security.Support;
using Sluice.Proxy.Configuration;

namespace Sluice.Integration.Tests.Security;

/// <summary>TLS between clients and Sluice: SSLRequest answered 'S', the connection upgraded in-band, SCRAM-SHA-256-PLUS.</summary>
[Collection(PostgresCollection.Name)]
public sealed class ClientTlsTests(PostgresFixture fixture) : IDisposable
{
    private readonly TestPki _pki = TestPki.Create();

    [Fact]
    public async Task Npgsql_with_ssl_mode_require_and_channel_binding_require_logs_in()
    {
        await using var proxy = await StartAsync(TlsMode.Require);
        var connectionString = new NpgsqlConnectionStringBuilder(proxy.ConnectionString(TestRoles.Scram))
        {
            SslMode = SslMode.Require,
            ChannelBinding = ChannelBinding.Require,
        }.ConnectionString;

        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT current_user", connection);

        Assert.Equal(TestRoles.Scram.Name, await command.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Npgsql_verify_full_against_the_proxy_certificate_logs_in()
    {
        await using var proxy = await StartAsync(TlsMode.Require);
        var connectionString = new NpgsqlConnectionStringBuilder(proxy.ConnectionString(TestRoles.Md5))
        {
            SslMode = SslMode.VerifyFull,
            RootCertificate = _pki.CaFile,
        }.ConnectionString;

        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT 40 + 2", connection);

        Assert.Equal(42, await command.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Plaintext_login_is_refused_with_28000_when_tls_is_required()
    {
        await using var proxy = await StartAsync(TlsMode.Require);
        var connectionString = new NpgsqlConnectionStringBuilder(proxy.ConnectionString(TestRoles.Scram)) { SslMode = SslMode.Disable }.ConnectionString;

        await using var connection = new NpgsqlConnection(connectionString);
        var error = await Assert.ThrowsAsync<PostgresException>(() => connection.OpenAsync());

        Assert.Equal(PostgresErrorCodes.InvalidAuthorizationSpecification, error.SqlState);
        Assert.Contains("SSL required", error.MessageText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Psql_verify_full_with_channel_binding_require_runs_over_tls()
    {
        await using var proxy = await StartAsync(TlsMode.Require);

        var result = await fixture.RunPsqlAsync(
            proxy.Port,
            "\\conninfo",
            TestRoles.Scram.Name,
            TestRoles.Scram.Password,
            database: $"dbname={PostgresFixture.Database} sslmode=verify-full sslrootcert={_pki.CaFile} channel_binding=require");

        Assert.True(result.Succeeded, result.StandardError);
        Assert.Matches("SSL connection \\(protocol: TLSv1\\.[23]", result.StandardOutput);
    }

    [Fact]
    public async Task Psql_sslmode_require_works_with_every_client_auth_method()
    {
        await using var proxy = await StartAsync(TlsMode.Require);

        foreach (var role in new[] { TestRoles.Scram, TestRoles.Md5, TestRoles.Plain })
        {
            var result = await fixture.RunPsqlAsync(proxy.Port, "SELECT current_user", role.Name, role.Password, database: $"dbname={PostgresFixture.Database} sslmode=require");

            Assert.True(result.Succeeded, $"{role.Name}: {result.StandardError}");
            Assert.Equal(role.Name, result.StandardOutput.Trim());
        }
    }

    [Fact]
    public async Task Psql_verify_full_refuses_a_proxy_certificate_from_another_ca()
    {
        await using var proxy = await StartAsync(TlsMode.Require);
        using var otherPki = TestPki.Create("Some Other CA");

        var result = await fixture.RunPsqlAsync(
            proxy.Port, "SELECT 1", TestRoles.Scram.Name, TestRoles.Scram.Password,
            database: $"dbname={PostgresFixture.Database} sslmode=verify-full sslrootcert={otherPki.CaFile}");

        Assert.False(result.Succeeded);
        Assert.Contains("certificate verify failed", result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Allow_mode_serves_plaintext_and_tls_clients_alike()
    {
        await using var proxy = await StartAsync(TlsMode.Allow);

        foreach (var sslMode in new[] { SslMode.Disable, SslMode.Require })
        {
            var connectionString = new NpgsqlConnectionStringBuilder(proxy.ConnectionString(TestRoles.Scram)) { SslMode = sslMode }.ConnectionString;
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT 1", connection);
            Assert.Equal(1, await command.ExecuteScalarAsync());
        }
    }

    [Fact]
    public async Task Disable_mode_answers_N_so_a_client_that_requires_tls_gives_up()
    {
        await using var proxy = await StartAsync(TlsMode.Disable);
        await using var client = await WireClient.ConnectAsync(proxy.Port);

        Assert.Equal('N', await client.RequestTlsAsync());

        var connectionString = new NpgsqlConnectionStringBuilder(proxy.ConnectionString(TestRoles.Scram)) { SslMode = SslMode.Require }.ConnectionString;
        await using var connection = new NpgsqlConnection(connectionString);
        await Assert.ThrowsAnyAsync<NpgsqlException>(() => connection.OpenAsync());
    }

    [Theory]
    [InlineData(SslProtocols.Tls12)]
    [InlineData(SslProtocols.Tls13)]
    public async Task Tls_1_2_and_1_3_handshakes_succeed_and_the_session_runs_inside(SslProtocols protocol)
    {
        await using var proxy = await StartAsync(TlsMode.Require);
        await using var client = await WireClient.ConnectAsync(proxy.Port);

        Assert.Equal('S', await client.RequestTlsAsync(protocol));
        Assert.Equal(protocol, client.Tls!.SslProtocol);
        await client.SendAsync(Frames.Startup(("user", TestRoles.Trust.Name), ("database", PostgresFixture.Database)));
        await ReadUntilReadyAsync(client);
        await client.SendAsync(Frames.Query("SELECT 7"));
        var row = await ReadUntilAsync(client, 'D');

        Assert.Equal((byte)'7', row.Payload[^1]);
    }

    [Fact]
    public async Task Bytes_sent_after_SSLRequest_before_the_answer_are_refused_with_08P01()
    {
        await using var proxy = await StartAsync(TlsMode.Allow);
        await using var client = await WireClient.ConnectAsync(proxy.Port);

        // A man in the middle would append plaintext to the SSLRequest, hoping it is read as if it came through TLS.
        await client.SendAsync(Frames.SslRequest().Concat(Frames.Startup(("user", TestRoles.Trust.Name))).ToArray());
        var (received, closed) = await client.ReadToEndAsync(TimeSpan.FromSeconds(10));

        Assert.True(closed);
        Assert.Contains("08P01", System.Text.Encoding.ASCII.GetString(received), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reload_serves_a_renewed_certificate_to_new_connections()
    {
        var first = _pki.Issue("proxy");
        var config = fixture.CreateProxyConfig() with { Tls = new TlsSection { Mode = TlsMode.Allow, CertFile = first.CertFile, KeyFile = first.KeyFile } };
        await using var proxy = await fixture.StartProxyAsync(config);
        Assert.Equal(first.Certificate.Thumbprint, await PresentedThumbprintAsync(proxy.Port));

        var renewed = _pki.Issue("proxy");
        proxy.Server.Reload(proxy.Config);

        Assert.Equal(renewed.Certificate.Thumbprint, await PresentedThumbprintAsync(proxy.Port));
    }

    public void Dispose() => _pki.Dispose();

    private async Task<RunningProxy> StartAsync(TlsMode mode)
    {
        var certificate = _pki.Issue("proxy");
        var config = fixture.CreateProxyConfig() with { Tls = new TlsSection { Mode = mode, CertFile = certificate.CertFile, KeyFile = certificate.KeyFile } };
        return await fixture.StartProxyAsync(config);
    }

    private static async Task<string?> PresentedThumbprintAsync(int port)
    {
        await using var client = await WireClient.ConnectAsync(port);
        Assert.Equal('S', await client.RequestTlsAsync());
        return client.RemoteCertificate?.Thumbprint;
    }

    private static async Task ReadUntilReadyAsync(WireClient client) => await ReadUntilAsync(client, 'Z');

    private static async Task<BackendMessage> ReadUntilAsync(WireClient client, char type)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (await client.ReadMessageAsync(timeout.Token) is { } message)
        {
            Assert.False(message.Type == 'E', $"error {message.SqlState}: {message.Message}");
            if (message.Type == type)
            {
                return message;
            }
        }

        throw new InvalidOperationException($"the connection closed before a '{type}' message");
    }
}
