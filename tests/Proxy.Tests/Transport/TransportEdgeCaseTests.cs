using System.Buffers;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Sluice.Proxy.Transport;

namespace Sluice.Proxy.Tests.Transport;

/// <summary>
/// What every socket implementation must survive, over real loopback TCP: a close while the session is reading, both
/// directions at once, many connections, cancellation, and TLS over the raw pipes.
/// </summary>
[Collection(TransportTestCollection.Name)]
public sealed class TransportEdgeCaseTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    public static TheoryData<string> Kinds => SocketTransportTests.Kinds;

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Aborting_while_a_read_is_pending_ends_the_read(string kind)
    {
        using var pair = await SocketPair.CreateAsync();
        await using var connection = DuplexConnection.Create(pair.Accepted, TransportSelection.Parse(kind));

        var read = connection.Input.ReadAsync().AsTask();
        await Task.Delay(50);
        Assert.False(read.IsCompleted);

        connection.Abort();
        await AssertReadEndsAsync(read);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Disposing_while_a_read_is_pending_ends_the_read_and_closes_the_peer(string kind)
    {
        using var pair = await SocketPair.CreateAsync();
        var connection = DuplexConnection.Create(pair.Accepted, TransportSelection.Parse(kind));

        // As a relay does when the other side goes: the read is still pending when the connection is disposed.
        var read = Task.Run(async () => await connection.Input.ReadAsync());
        await Task.Delay(50);
        await connection.DisposeAsync().AsTask().WaitAsync(Bound);
        await AssertReadEndsAsync(read);

        var sink = new byte[16];
        Assert.Equal(0, await pair.Peer.ReceiveAsync(sink.AsMemory()).AsTask().WaitAsync(Bound));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_megabyte_each_way_at_once_arrives_whole_both_ways(string kind)
    {
        using var pair = await SocketPair.CreateAsync();
        await using var connection = DuplexConnection.Create(pair.Accepted, TransportSelection.Parse(kind));
        var toPeer = Pattern(1024 * 1024, 7);
        var fromPeer = Pattern(1024 * 1024, 13);

        // Neither side reads before it has written everything it can: each depends on the other's reading.
        var peerSends = pair.Peer.SendAsync(fromPeer.AsMemory()).AsTask();
        var connectionSends = connection.Output.WriteAsync(toPeer).AsTask();
        var peerReceives = ReceiveExactlyAsync(pair.Peer, toPeer.Length);
        var connectionReceived = await ReadExactlyAsync(connection, fromPeer.Length).WaitAsync(Bound);

        await Task.WhenAll(peerSends, connectionSends).WaitAsync(Bound);
        Assert.True(fromPeer.AsSpan().SequenceEqual(connectionReceived));
        var peerReceived = await peerReceives.WaitAsync(Bound);
        Assert.True(toPeer.AsSpan().SequenceEqual(peerReceived));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Two_hundred_connections_each_echo_their_own_bytes(string kind)
    {
        const int connections = 200;
        var pairs = new List<SocketPair>();
        var wrapped = new List<DuplexConnection>();
        try
        {
            for (var i = 0; i < connections; i++)
            {
                var pair = await SocketPair.CreateAsync();
                pairs.Add(pair);
                wrapped.Add(DuplexConnection.Create(pair.Accepted, TransportSelection.Parse(kind)));
            }

            var echoes = wrapped.Select(EchoOnceAsync).ToArray();
            var checks = pairs.Select(async (pair, index) =>
            {
                var payload = Pattern(3000 + index, index);
                await pair.Peer.SendAsync(payload);
                var echoed = await ReceiveExactlyAsync(pair.Peer, payload.Length);
                Assert.True(payload.AsSpan().SequenceEqual(echoed));
            }).ToArray();
            await Task.WhenAll(checks.Concat(echoes)).WaitAsync(TimeSpan.FromSeconds(60));
        }
        finally
        {
            foreach (var connection in wrapped)
            {
                await connection.DisposeAsync();
            }

            pairs.ForEach(pair => pair.Dispose());
        }

        static async Task EchoOnceAsync(DuplexConnection connection, int index)
        {
            var expected = 3000 + index;
            var echoed = 0;
            while (echoed < expected)
            {
                var result = await connection.Input.ReadAsync();
                foreach (var segment in result.Buffer)
                {
                    await connection.Output.WriteAsync(segment);
                }

                echoed += (int)result.Buffer.Length;
                connection.Input.AdvanceTo(result.Buffer.End);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_pending_read_ends_on_CancelPendingRead_and_on_its_token_and_the_connection_reads_on(string kind)
    {
        using var pair = await SocketPair.CreateAsync();
        await using var connection = DuplexConnection.Create(pair.Accepted, TransportSelection.Parse(kind));

        var read = connection.Input.ReadAsync().AsTask();
        await Task.Delay(50);
        connection.Input.CancelPendingRead();
        var canceled = await read.WaitAsync(Bound);
        Assert.True(canceled.IsCanceled);
        connection.Input.AdvanceTo(canceled.Buffer.Start);

        using (var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(100)))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => connection.Input.ReadAsync(timeout.Token).AsTask().WaitAsync(Bound));
        }

        await pair.Peer.SendAsync("after"u8.ToArray());
        Assert.Equal("after", await InMemoryConnectionTests.ReadTextAsync(connection, 5));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Tls_over_the_raw_pipes_carries_bytes_both_ways(string kind)
    {
        using var pki = TestPki.Create();
        var issued = pki.Issue("transport");
        using var certificate = X509Certificate2.CreateFromPemFile(issued.CertFile, issued.KeyFile);
        using var pair = await SocketPair.CreateAsync();
        await using var connection = DuplexConnection.Create(pair.Accepted, TransportSelection.Parse(kind));

        await using var client = new SslStream(new NetworkStream(pair.Peer, ownsSocket: false), leaveInnerStreamOpen: false,
            (_, _, _, _) => true);
        var server = new SslStream(connection.Stream, leaveInnerStreamOpen: true);
        await Task.WhenAll(
            server.AuthenticateAsServerAsync(certificate),
            client.AuthenticateAsClientAsync("localhost")).WaitAsync(Bound);
        connection.ReplaceStream(server);

        await client.WriteAsync("secret hello"u8.ToArray());
        await client.FlushAsync();
        Assert.Equal("secret hello", await InMemoryConnectionTests.ReadTextAsync(connection, 12).WaitAsync(Bound));

        var big = Pattern(256 * 1024, 3);
        var write = connection.Output.WriteAsync(big).AsTask();
        var received = new byte[big.Length];
        await client.ReadExactlyAsync(received).AsTask().WaitAsync(Bound);
        await write.WaitAsync(Bound);
        Assert.True(big.AsSpan().SequenceEqual(received));
    }

    internal static byte[] Pattern(int size, int seed)
    {
        var bytes = new byte[size];
        for (var i = 0; i < size; i++)
        {
            bytes[i] = (byte)((i * 31) + (i >> 10) + seed);
        }

        return bytes;
    }

    internal static async Task<byte[]> ReceiveExactlyAsync(Socket socket, int size)
    {
        var received = new byte[size];
        var total = 0;
        while (total < size)
        {
            var n = await socket.ReceiveAsync(received.AsMemory(total));
            Assert.NotEqual(0, n);
            total += n;
        }

        return received;
    }

    private static async Task<byte[]> ReadExactlyAsync(DuplexConnection connection, int size)
    {
        var received = new byte[size];
        var total = 0;
        while (total < size)
        {
            var result = await connection.Input.ReadAsync();
            Assert.False(result.IsCompleted && result.Buffer.IsEmpty, "input ended early");
            var take = (int)Math.Min(result.Buffer.Length, size - total);
            result.Buffer.Slice(0, take).CopyTo(received.AsSpan(total));
            total += take;
            connection.Input.AdvanceTo(result.Buffer.GetPosition(take));
        }

        return received;
    }

    /// <summary>A read pending when its connection goes ends: with an IOException, or as the end of input.</summary>
    private static async Task AssertReadEndsAsync(Task<System.IO.Pipelines.ReadResult> read)
    {
        try
        {
            var result = await read.WaitAsync(Bound);
            Assert.True(result.IsCompleted || result.IsCanceled, "a read on a closed connection returned as if data came");
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or SocketException or InvalidOperationException)
        {
        }
    }
}
