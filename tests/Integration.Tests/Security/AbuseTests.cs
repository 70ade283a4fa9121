using System.Diagnostics;
using System.Net;
using Npgsql;
using Sluice.Integration.Tests.Fixtures;
using Sluice.Integration.Tests.Security.Support;
using Sluice.Proxy.Configuration;

namespace Sluice.Integration.Tests.Security;

/// <summary>Allowlist, login timeout against slow clients, and slowing down password guessing.</summary>
[Collection(PostgresCollection.Name)]
public sealed class AbuseTests(PostgresFixture fixture) : IDisposable
{
    private readonly TestPki _pki = TestPki.Create();

    public enum Stall
    {
        SendsNothing,
        HalfAStartupPacket,
        AsksForTlsThenNoHandshake,
        NeverAnswersThePasswordRequest,
    }

    [Fact]
    public async Task Address_outside_the_allowlist_is_refused_with_28000_before_authentication()
    {
        await using var proxy = await StartAsync(fixture.CreateProxyConfig() with { Server = new ServerSection { Allow = ["10.0.0.0/8"] } });
        await using var client = await WireClient.ConnectAsync(proxy.Port);

        await client.SendAsync(Frames.Startup(("user", TestRoles.Scram.Name), ("database", PostgresFixture.Database)));
        var first = await client.ReadMessageAsync();

        // The refusal comes first: no authentication request, so nothing about users or methods is revealed.
        Assert.NotNull(first);
        Assert.Equal('E', first.Type);
        Assert.Equal("28000", first.SqlState);
        Assert.Contains("127.0.0.1", first.Message, StringComparison.Ordinal);
        Assert.Null(await client.ReadMessageAsync());

        await using var connection = new NpgsqlConnection(proxy.ConnectionString(TestRoles.Scram));
        var error = await Assert.ThrowsAsync<PostgresException>(() => connection.OpenAsync());
        Assert.Equal(PostgresErrorCodes.InvalidAuthorizationSpecification, error.SqlState);
    }

    [Fact]
    public async Task Address_inside_the_allowlist_is_admitted()
    {
        await using var proxy = await StartAsync(fixture.CreateProxyConfig() with { Server = new ServerSection { Allow = ["10.0.0.0/8", "127.0.0.0/8"] } });

        await using var connection = new NpgsqlConnection(proxy.ConnectionString(TestRoles.Scram));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT 1", connection);

        Assert.Equal(1, await command.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Allowlist_tells_apart_two_loopback_addresses()
    {
        await using var proxy = await StartAsync(fixture.CreateProxyConfig() with { Server = new ServerSection { Allow = ["127.0.0.2/32"] } });

        Assert.Equal("28000", await FirstErrorAsync(proxy.Port, IPAddress.Loopback));
        Assert.Null(await FirstErrorAsync(proxy.Port, IPAddress.Parse("127.0.0.2")));
    }

    [Theory]
    [InlineData(Stall.SendsNothing)]
    [InlineData(Stall.HalfAStartupPacket)]
    [InlineData(Stall.AsksForTlsThenNoHandshake)]
    [InlineData(Stall.NeverAnswersThePasswordRequest)]
    public async Task Slow_client_is_closed_after_client_login_timeout(Stall stall)
    {
        var certificate = _pki.Issue("proxy");
        var config = fixture.CreateProxyConfig() with
        {
            Limits = new LimitsSection { ClientLoginTimeout = TimeSpan.FromSeconds(1) },
            Tls = new TlsSection { Mode = TlsMode.Allow, CertFile = certificate.CertFile, KeyFile = certificate.KeyFile },
        };
        await using var proxy = await StartAsync(config);
        await using var client = await WireClient.ConnectAsync(proxy.Port);
        var stopwatch = Stopwatch.StartNew();

        switch (stall)
        {
            case Stall.HalfAStartupPacket:
                await client.SendAsync(Frames.Startup(("user", TestRoles.Scram.Name))[..12]);
                break;
            case Stall.AsksForTlsThenNoHandshake:
                await client.SendAsync(Frames.SslRequest());
                break;
            case Stall.NeverAnswersThePasswordRequest:
                await client.SendAsync(Frames.Startup(("user", TestRoles.Scram.Name), ("database", PostgresFixture.Database)));
                break;
        }

        var (received, closed) = await client.ReadToEndAsync(TimeSpan.FromSeconds(20));

        Assert.True(closed, "the proxy kept a connection that never logged in");
        Assert.True(stopwatch.Elapsed >= TimeSpan.FromSeconds(0.8), $"closed after {stopwatch.Elapsed}, before the login timeout");
        if (stall != Stall.AsksForTlsThenNoHandshake)
        {
            Assert.Contains("client_login_timeout", System.Text.Encoding.UTF8.GetString(received), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Repeated_wrong_passwords_from_one_address_are_answered_ever_slower()
    {
        await using var proxy = await StartAsync(fixture.CreateProxyConfig());
        var wrong = proxy.ConnectionString(TestRoles.Md5.Name, "not-the-password");
        var elapsed = new List<TimeSpan>();

        for (var attempt = 1; attempt <= 7; attempt++)
        {
            var stopwatch = Stopwatch.StartNew();
            await using var connection = new NpgsqlConnection(wrong);
            var error = await Assert.ThrowsAsync<PostgresException>(() => connection.OpenAsync());
            elapsed.Add(stopwatch.Elapsed);
            Assert.Equal(PostgresErrorCodes.InvalidPassword, error.SqlState);
        }

        // The 6th failure waits 0.5 s, the 7th 1 s (then 2, 4, 5, 5... s).
        Assert.True(elapsed[5] >= TimeSpan.FromSeconds(0.45), $"6th failure answered after {elapsed[5]}");
        Assert.True(elapsed[6] >= TimeSpan.FromSeconds(0.95), $"7th failure answered after {elapsed[6]}");

        // The right password is never held back.
        await using var right = new NpgsqlConnection(proxy.ConnectionString(TestRoles.Md5));
        await right.OpenAsync();
    }

    public void Dispose() => _pki.Dispose();

    private Task<RunningProxy> StartAsync(ProxyConfig config) => fixture.StartProxyAsync(config);

    /// <summary>The SQLSTATE the proxy answers a trust login from <paramref name="from"/> with, or null when it logs in.</summary>
    private static async Task<string?> FirstErrorAsync(int port, IPAddress from)
    {
        await using var client = await WireClient.ConnectAsync(port, from);
        await client.SendAsync(Frames.Startup(("user", TestRoles.Trust.Name), ("database", PostgresFixture.Database)));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (await client.ReadMessageAsync(timeout.Token) is { } message)
        {
            switch (message.Type)
            {
                case 'E':
                    return message.SqlState;
                case 'Z':
                    return null;
            }
        }

        throw new InvalidOperationException("closed without an answer");
    }
}
