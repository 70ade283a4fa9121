namespace Sluice.Proxy.Tests.Clients;

/// <summary>
/// The relay over in-memory connections, where the interleavings that once failed (commit 6c7f624) happen on every
/// run: the pipes continue inline, so a server's answer arrives, is forwarded and ends the lease while the client
/// loop is still inside its flush to that server, and a waiting client is handed the server from inside the first
/// client's pump. Both sides speak the real protocol; what is asserted is what clients see.
/// </summary>
public sealed class RelayInterleavingTests : IAsyncLifetime
{
    private const string Config = """
        [pool]
        mode = "transaction"
        size = 1
        checkout_timeout = "5s"

        [[users]]
        name = "app"
        auth = "trust"

        [[databases]]
        name = "db"
        servers = [ { host = "127.0.0.1", port = 5432, role = "primary" } ]
        """;

    private readonly InMemoryProxy _proxy = new(Config);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _proxy.DisposeAsync();

    [Fact]
    public async Task A_server_answering_inside_the_clients_flush_goes_back_to_the_pool_once()
    {
        await using var first = await ConnectAsync();
        await using var second = await ConnectAsync();
        for (var n = 0; n < 20; n++)
        {
            // One server for both: each answer arrives before the sender's flush returns, and the lease ends there.
            Assert.Equal($"first {n}", await first.QueryAsync($"first {n}"));
            Assert.Equal($"second {n}", await second.QueryAsync($"second {n}"));
        }

        var pool = Assert.Single(_proxy.Runtime.Pools.Pools);
        Assert.Equal(1, pool.TotalCount);
        Assert.Equal(1, _proxy.Backends);
    }

    [Fact]
    public async Task A_waiting_client_gets_the_server_only_after_the_first_clients_pump_is_done_with_it()
    {
        await using var first = await ConnectAsync();
        await using var second = await ConnectAsync();
        Assert.Equal("BEGIN", await first.QueryAsync("BEGIN"));

        // The second client waits for the only server, held by the first one's transaction.
        var waiting = second.QueryAsync("second");
        var pool = Assert.Single(_proxy.Runtime.Pools.Pools);
        await WaitUntilAsync(() => pool.WaitingCount == 1);

        // COMMIT's ReadyForQuery ends the lease inside the first client's pump; the waiter is handed the server there.
        Assert.Equal("COMMIT", await first.QueryAsync("COMMIT"));
        Assert.Equal("second", await waiting);
        Assert.Equal("first again", await first.QueryAsync("first again"));
        Assert.Equal(1, _proxy.Backends);
    }

    private Task<InMemoryWireClient> ConnectAsync() => _proxy.ConnectAsync();

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        // Bounded: 10 s at most, then the test fails on the assertion that follows it.
        for (var i = 0; i < 1000 && !condition(); i++)
        {
            await Task.Delay(10);
        }

        Assert.True(condition());
    }
}
