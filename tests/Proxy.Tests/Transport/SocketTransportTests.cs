using System.Buffers;
using System.Net.Sockets;
using Sluice.Proxy.Transport;

namespace Sluice.Proxy.Tests.Transport;

/// <summary>Every socket implementation over a real loopback TCP pair: the proxy's end wrapped, the peer a plain socket.</summary>
[Collection(TransportTestCollection.Name)]
public sealed class SocketTransportTests
{
    public static TheoryData<string> Kinds => ["socket", "stream", "sockets-unofficial", "epoll"];

    [Fact]
    public void The_default_transport_is_the_socket_layer_and_the_switch_reads_every_name()
    {
        Assert.Equal(TransportKind.Socket, TransportSelection.Parse(null));
        Assert.Equal(TransportKind.Socket, TransportSelection.Parse("socket"));
        Assert.Equal(TransportKind.Stream, TransportSelection.Parse(" Stream "));
        Assert.Equal(TransportKind.SocketsUnofficial, TransportSelection.Parse("sockets-unofficial"));
        Assert.Equal(TransportKind.Epoll, TransportSelection.Parse("epoll"));
        var error = Assert.Throws<InvalidOperationException>(() => TransportSelection.Parse("kestrel"));
        Assert.Contains("SLUICE_TRANSPORT=kestrel", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Bytes_arriving_in_pieces_are_seen_as_they_arrive_and_add_up(string kind)
    {
        using var pair = await SocketPair.CreateAsync();
        await using var connection = DuplexConnection.Create(pair.Accepted, TransportSelection.Parse(kind));
        Assert.Equal(pair.Peer.LocalEndPoint, connection.RemoteEndPoint);

        await pair.Peer.SendAsync("Hello"u8.ToArray());
        var first = await connection.Input.ReadAsync();
        Assert.Equal("Hello"u8.ToArray(), first.Buffer.ToArray());
        connection.Input.AdvanceTo(first.Buffer.Start, first.Buffer.End); // looked at, not taken

        await pair.Peer.SendAsync(", world"u8.ToArray());
        Assert.Equal("Hello, world", await InMemoryConnectionTests.ReadTextAsync(connection, 12));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_write_larger_than_the_socket_buffers_waits_for_the_reader_and_arrives_whole(string kind)
    {
        using var pair = await SocketPair.CreateAsync();
        await using var connection = DuplexConnection.Create(pair.Accepted, TransportSelection.Parse(kind));

        // More than loopback's socket buffers can hold (a few MiB each way): the flush cannot finish before the peer reads.
        const int size = 48 * 1024 * 1024;
        var payload = new byte[size];
        for (var i = 0; i < size; i++)
        {
            payload[i] = (byte)(i * 31 + (i >> 12));
        }

        var flush = connection.Output.WriteAsync(payload).AsTask();
        await Task.Yield();
        Assert.False(flush.IsCompleted);

        var received = new byte[size];
        var total = 0;
        while (total < size)
        {
            var n = await pair.Peer.ReceiveAsync(received.AsMemory(total));
            Assert.NotEqual(0, n);
            total += n;
        }

        await flush.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(payload.AsSpan().SequenceEqual(received));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_peer_that_closes_is_the_end_of_input_after_its_last_bytes(string kind)
    {
        using var pair = await SocketPair.CreateAsync();
        await using var connection = DuplexConnection.Create(pair.Accepted, TransportSelection.Parse(kind));

        await pair.Peer.SendAsync("last"u8.ToArray());
        pair.Peer.Shutdown(SocketShutdown.Send);

        Assert.Equal("last", await InMemoryConnectionTests.ReadTextAsync(connection, 4));
        var end = await connection.Input.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(end.IsCompleted);
        Assert.True(end.Buffer.IsEmpty);
        connection.Input.AdvanceTo(end.Buffer.End);
        Assert.True(connection.HasPendingInputOrClosed());
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_peer_that_resets_ends_reads_and_fails_writes(string kind)
    {
        using var pair = await SocketPair.CreateAsync();
        await using var connection = DuplexConnection.Create(pair.Accepted, TransportSelection.Parse(kind));
        Assert.False(connection.HasPendingInputOrClosed());

        pair.Peer.LingerState = new LingerOption(true, 0);
        pair.Peer.Close(); // RST

        try
        {
            var result = await connection.Input.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.True(result.IsCompleted);
        }
        catch (IOException)
        {
        }

        Assert.True(connection.HasPendingInputOrClosed());

        // Writes to a reset connection fail (the first may still be accepted locally); bounded in count.
        var failed = false;
        for (var attempt = 0; attempt < 100 && !failed; attempt++)
        {
            try
            {
                var flush = await connection.Output.WriteAsync(new byte[1024]).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
                failed = flush.IsCompleted;
            }
            catch (IOException)
            {
                failed = true;
            }
            catch (InvalidOperationException) when (kind == "sockets-unofficial")
            {
                // Pipelines.Sockets.Unofficial completes the writer itself on a reset, so the next write is refused as
                // "writing after completion" rather than failing as I/O: one reason it is not the default.
                failed = true;
            }
        }

        Assert.True(failed, "writes to a reset peer kept succeeding");
    }

    [Fact]
    public async Task An_idle_socket_connection_holds_no_buffer_after_traffic()
    {
        using var pair = await SocketPair.CreateAsync();
        var pool = new CountingPool();
        await using var connection = new SocketDuplexConnection(pair.Accepted, pool);

        for (var round = 0; round < 3; round++)
        {
            await pair.Peer.SendAsync(new byte[10_000]);
            var received = 0;
            while (received < 10_000)
            {
                var result = await connection.Input.ReadAsync();
                received += (int)result.Buffer.Length;
                connection.Input.AdvanceTo(result.Buffer.End);
            }

            await connection.Output.WriteAsync(new byte[6_000]);
            var echoed = 0;
            var sink = new byte[8192];
            while (echoed < 6_000)
            {
                echoed += await pair.Peer.ReceiveAsync(sink);
            }

            // Idle again: once the receive loop is back in its zero-byte receive, every segment rented for the
            // 10,000 bytes in and the 6,000 out has gone back to the pool. This code may be running inside the loop's
            // own flush (the pipe runs its reader inline), or beside it on another thread while it finishes a
            // receive, so give it a moment to get there; a segment kept while idle stays out and fails the test.
            Assert.True(pool.Rented > 0);
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(2);
            while (pool.Outstanding != 0 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(10);
            }

            Assert.Equal(0, pool.Outstanding);
        }
    }

    [Fact]
    public async Task A_receive_that_fills_its_segment_exactly_leaves_no_segment_rented()
    {
        using var pair = await SocketPair.CreateAsync();
        var pool = new CountingPool();
        await using var connection = new SocketDuplexConnection(pair.Accepted, pool);

        // 4,096 bytes fill the first segment to the byte, which makes "more is coming" the likely guess; when nothing
        // more comes the connection must not keep a second segment rented to find that out.
        await pair.Peer.SendAsync(new byte[4096]);
        var received = 0;
        while (received < 4096)
        {
            var result = await connection.Input.ReadAsync();
            received += (int)result.Buffer.Length;
            connection.Input.AdvanceTo(result.Buffer.End);
        }

        // The read above ran inline inside the receive loop's flush; give the loop time to go back to waiting.
        await Task.Delay(200);
        Assert.Equal(0, pool.Outstanding);

        // And it still receives what comes later.
        await pair.Peer.SendAsync(new byte[10]);
        var next = await connection.Input.ReadAsync();
        Assert.Equal(10, next.Buffer.Length);
        connection.Input.AdvanceTo(next.Buffer.End);
    }

    [Fact]
    public async Task Bytes_written_but_abandoned_by_a_failed_completion_are_neither_sent_nor_kept()
    {
        using var pair = await SocketPair.CreateAsync();
        var pool = new CountingPool();
        await using var connection = new SocketDuplexConnection(pair.Accepted, pool);

        connection.Output.Write(new byte[100]);
        Assert.Equal(100, connection.Output.UnflushedBytes);
        await connection.Output.CompleteAsync(new IOException("the session failed"));

        Assert.Equal(0, connection.Output.UnflushedBytes);
        Assert.Equal(0, pool.Outstanding);
        var flush = await connection.Output.FlushAsync();
        Assert.False(flush.IsCanceled);
        Assert.Throws<InvalidOperationException>(() => connection.Output.GetSpan());
    }
}
