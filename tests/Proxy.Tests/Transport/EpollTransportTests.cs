using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Sluice.Proxy.Transport.Epoll;

namespace Sluice.Proxy.Tests.Transport;

/// <summary>What only the epoll transport has: its own connect, its receive arrays, and descriptor numbers reused under it.</summary>
[Collection(TransportTestCollection.Name)]
public sealed class EpollTransportTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task An_idle_epoll_connection_holds_no_receive_array_or_send_block_after_traffic()
    {
        using var pair = await SocketPair.CreateAsync();
        var receivePool = new CountingArrayPool();
        var sendPool = new CountingPool();
        await using var connection = new EpollConnection(pair.Accepted, receivePool, sendPool);

        // 10,000 bytes in, 6,000 out; then 4,096 in, which fills a receive array to the byte ("more may be coming"):
        // neither may leave an array rented once the reader has consumed everything.
        foreach (var incoming in new[] { 10_000, 4096, 10_000 })
        {
            await pair.Peer.SendAsync(new byte[incoming]);
            var received = 0;
            while (received < incoming)
            {
                var result = await connection.Input.ReadAsync().AsTask().WaitAsync(Bound);
                received += (int)result.Buffer.Length;
                connection.Input.AdvanceTo(result.Buffer.End);
            }

            await connection.Output.WriteAsync(new byte[6_000]);
            await TransportEdgeCaseTests.ReceiveExactlyAsync(pair.Peer, 6_000);

            // The next read asks the socket (which has nothing), gives back the array it rented for that, and parks.
            var next = connection.Input.ReadAsync();
            Assert.False(next.IsCompleted);
            Assert.True(receivePool.Rented > 0);
            Assert.Equal(0, receivePool.Outstanding);
            Assert.Equal(0, sendPool.Outstanding);
            Assert.True(connection.HoldsNoReceiveBuffer);

            await pair.Peer.SendAsync(new byte[1]);
            var one = await next.AsTask().WaitAsync(Bound);
            Assert.Equal(1, one.Buffer.Length);
            connection.Input.AdvanceTo(one.Buffer.End);
        }
    }

    [Fact]
    public async Task Its_own_connect_reaches_a_listener_and_a_closed_port_is_refused()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var port = ((IPEndPoint)listener.LocalEndPoint!).Port;

        await using (var connection = await EpollConnection.ConnectNonBlockingAsync("127.0.0.1", port, CancellationToken.None).AsTask().WaitAsync(Bound))
        {
            using var accepted = await listener.AcceptAsync();
            Assert.Equal(accepted.LocalEndPoint, connection.RemoteEndPoint);
            await connection.Output.WriteAsync("ping"u8.ToArray());
            Assert.Equal("ping"u8.ToArray(), await TransportEdgeCaseTests.ReceiveExactlyAsync(accepted, 4));
            await accepted.SendAsync("pong"u8.ToArray());
            Assert.Equal("pong", await InMemoryConnectionTests.ReadTextAsync(connection, 4));
        }

        listener.Close();
        var refused = await Assert.ThrowsAsync<SocketException>(
            () => EpollConnection.ConnectNonBlockingAsync("127.0.0.1", port, CancellationToken.None).AsTask().WaitAsync(Bound));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
    }

    [Fact]
    public async Task A_read_pending_when_the_connection_is_aborted_fails_as_IO()
    {
        using var pair = await SocketPair.CreateAsync();
        await using var connection = new EpollConnection(pair.Accepted);
        var read = connection.Input.ReadAsync().AsTask();
        await Task.Delay(50);

        connection.Abort();
        await Assert.ThrowsAsync<IOException>(() => read.WaitAsync(Bound));
        await Assert.ThrowsAsync<IOException>(() => connection.Input.ReadAsync().AsTask());
    }

    [Fact]
    public async Task Connections_closed_and_opened_in_turns_never_see_each_others_bytes()
    {
        // Each closed connection's descriptor number goes to the next one, while its peer still sends: an event or a
        // receive meant for the old connection must never reach the new one.
        for (var round = 0; round < 300; round++)
        {
            using var pair = await SocketPair.CreateAsync();
            var connection = new EpollConnection(pair.Accepted);
            var mine = TransportEdgeCaseTests.Pattern(100, round);
            await pair.Peer.SendAsync(mine);
            var result = await connection.Input.ReadAtLeastAsync(100).AsTask().WaitAsync(Bound);
            Assert.True(mine.AsSpan().SequenceEqual(result.Buffer.Slice(0, 100).ToArray()));
            connection.Input.AdvanceTo(result.Buffer.GetPosition(100));

            // The peer keeps sending while the connection goes away under it.
            _ = pair.Peer.SendAsync(new byte[2000].AsMemory()).AsTask().ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);
            if (round % 2 == 0)
            {
                connection.Abort();
            }

            await connection.DisposeAsync().AsTask().WaitAsync(Bound);
        }
    }
}
