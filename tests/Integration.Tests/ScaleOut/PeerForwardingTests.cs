using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Npgsql;
using Sluice.Integration.Tests.Fixtures;
using Sluice.Integration.Tests.Operations;
using Sluice.Proxy.Configuration;
using Sluice.Proxy.Peering;

namespace Sluice.Integration.Tests.ScaleOut;

/// <summary>Cancel requests for peers that are gone or unknown: logged, counted in SHOW PEERS, dropped; nobody else notices.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PeerForwardingTests(PostgresFixture fixture)
{
    [Fact]
    public async Task Cancels_for_a_dead_or_unknown_peer_are_dropped_and_shown_in_SHOW_PEERS()
    {
        var deadPort = Tool.FreePort();
        var config = fixture.CreateProxyConfig();
        config = config with
        {
            Server = config.Server with { PeerId = 1 },
            Peers = [new PeerConfig { Id = 2, Host = "127.0.0.1", Port = deadPort }],
        };
        var logs = new CapturingLoggerProvider();
        using var loggerFactory = LoggerFactory.Create(builder => builder.AddProvider(logs).SetMinimumLevel(LogLevel.Information));
        await using var proxy = await fixture.StartProxyAsync(config, loggerFactory);
        await using var client = new NpgsqlConnection(proxy.ConnectionString(TestRoles.Scram));
        await client.OpenAsync();

        var clock = Stopwatch.StartNew();
        await SendCancelAsync(proxy.Port, PeerCancelKeys.NewProcessId(2), 1234);
        await SendCancelAsync(proxy.Port, PeerCancelKeys.NewProcessId(9), 1234);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"the cancel connections took {clock.Elapsed}");

        await using (var command = new NpgsqlCommand("SELECT 41 + 1", client))
        {
            Assert.Equal(42, await command.ExecuteScalarAsync());
        }

        var show = await fixture.RunPsqlAsync(proxy.Port, "SHOW PEERS", PostgresFixture.AdminUser, PostgresFixture.AdminPassword, database: "sluice");
        Assert.True(show.Succeeded, show.StandardError);
        Assert.Equal($"2|127.0.0.1|{deadPort}|0|1", show.StandardOutput.Trim());
        Assert.Contains(logs.Lines, line => line.Contains("cancel request for peer 2 at 127.0.0.1:" + deadPort + " dropped", StringComparison.Ordinal));
        Assert.Contains(logs.Lines, line => line.Contains("cancel request for peer 9 dropped: no [[peers]] entry", StringComparison.Ordinal));
    }

    /// <summary>A CancelRequest on its own connection, as libpq sends it; returns once the proxy has closed the connection.</summary>
    private static async Task SendCancelAsync(int port, int processId, int secretKey)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync("127.0.0.1", port);
        var request = new byte[16];
        BinaryPrimitives.WriteInt32BigEndian(request, 16);
        BinaryPrimitives.WriteInt32BigEndian(request.AsSpan(4), 80877102);
        BinaryPrimitives.WriteInt32BigEndian(request.AsSpan(8), processId);
        BinaryPrimitives.WriteInt32BigEndian(request.AsSpan(12), secretKey);
        await socket.SendAsync(request);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var buffer = new byte[64];
        Assert.Equal(0, await socket.ReceiveAsync(buffer, timeout.Token));
    }
}
