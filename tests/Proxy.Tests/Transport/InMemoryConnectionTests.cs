using System.Buffers;
using System.Text;
using Sluice.Proxy.Transport;

namespace Sluice.Proxy.Tests.Transport;

public sealed class InMemoryConnectionTests
{
    [Fact]
    public async Task What_one_end_writes_the_other_reads_in_order_both_ways()
    {
        var (proxy, peer) = InMemoryConnection.CreatePair();
        await peer.Output.WriteAsync("hello "u8.ToArray());
        await peer.Output.WriteAsync("proxy"u8.ToArray());
        await proxy.Output.WriteAsync("hello peer"u8.ToArray());

        Assert.Equal("hello proxy", await ReadTextAsync(proxy, 11));
        Assert.Equal("hello peer", await ReadTextAsync(peer, 10));
    }

    [Fact]
    public async Task Pending_input_is_seen_without_being_consumed()
    {
        var (proxy, peer) = InMemoryConnection.CreatePair();
        Assert.False(proxy.HasPendingInputOrClosed());

        await peer.Output.WriteAsync("x"u8.ToArray());
        Assert.True(proxy.HasPendingInputOrClosed());
        Assert.Equal("x", await ReadTextAsync(proxy, 1));
        Assert.False(proxy.HasPendingInputOrClosed());
    }

    [Fact]
    public async Task A_disposed_peer_is_seen_as_the_end_of_input_and_as_closed()
    {
        var (proxy, peer) = InMemoryConnection.CreatePair();
        await peer.Output.WriteAsync("bye"u8.ToArray());
        await peer.DisposeAsync();

        Assert.True(proxy.HasPendingInputOrClosed());
        Assert.Equal("bye", await ReadTextAsync(proxy, 3));
        var end = await proxy.Input.ReadAsync();
        Assert.True(end.IsCompleted);
        Assert.True(end.Buffer.IsEmpty);
    }

    [Fact]
    public async Task Abort_fails_a_pending_read_on_either_end_like_a_reset()
    {
        var (proxy, peer) = InMemoryConnection.CreatePair();
        var proxyRead = proxy.Input.ReadAsync().AsTask();
        var peerRead = peer.Input.ReadAsync().AsTask();
        Assert.False(proxyRead.IsCompleted);

        proxy.Abort();

        await Assert.ThrowsAsync<IOException>(() => proxyRead);
        await Assert.ThrowsAsync<IOException>(() => peerRead);
    }

    [Fact]
    public void There_is_no_byte_stream_for_TLS()
    {
        var (proxy, _) = InMemoryConnection.CreatePair();
        Assert.Throws<NotSupportedException>(() => proxy.Stream);
        Assert.Throws<NotSupportedException>(() => proxy.ReplaceStream(Stream.Null));
    }

    internal static async Task<string> ReadTextAsync(DuplexConnection connection, int length)
    {
        while (true)
        {
            var result = await connection.Input.ReadAsync();
            if (result.Buffer.Length >= length)
            {
                var text = Encoding.ASCII.GetString(result.Buffer.Slice(0, length).ToArray());
                connection.Input.AdvanceTo(result.Buffer.GetPosition(length));
                return text;
            }

            Assert.False(result.IsCompleted, $"the input ended after {result.Buffer.Length} of {length} bytes");
            connection.Input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
    }
}
