using System.Buffers;
using System.Net;
using System.Net.Sockets;

namespace Sluice.Proxy.Tests.Transport;

/// <summary>A memory pool over the shared array pool that counts what is out.</summary>
internal sealed class CountingPool : MemoryPool<byte>
{
    private int _outstanding;
    private int _rented;

    public int Outstanding => Volatile.Read(ref _outstanding);

    public int Rented => Volatile.Read(ref _rented);

    public override int MaxBufferSize => 1024 * 1024;

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        Interlocked.Increment(ref _outstanding);
        Interlocked.Increment(ref _rented);
        return new Owner(this, ArrayPool<byte>.Shared.Rent(minBufferSize <= 0 ? 4096 : minBufferSize));
    }

    protected override void Dispose(bool disposing)
    {
    }

    private sealed class Owner(CountingPool pool, byte[] array) : IMemoryOwner<byte>
    {
        private byte[]? _array = array;

        public Memory<byte> Memory => _array ?? throw new ObjectDisposedException(nameof(Owner));

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _array, null) is { } returned)
            {
                ArrayPool<byte>.Shared.Return(returned);
                Interlocked.Decrement(ref pool._outstanding);
            }
        }
    }
}

/// <summary>Two connected loopback sockets: the accepted end (given to a transport) and the peer.</summary>
internal sealed class SocketPair : IDisposable
{
    private SocketPair(Socket accepted, Socket peer)
    {
        Accepted = accepted;
        Peer = peer;
    }

    public Socket Accepted { get; }

    public Socket Peer { get; }

    public static async Task<SocketPair> CreateAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var peer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await peer.ConnectAsync(listener.LocalEndPoint!);
        var accepted = await listener.AcceptAsync();
        return new SocketPair(accepted, peer);
    }

    public void Dispose() => Peer.Dispose();
}

/// <summary>The shared array pool, counting the arrays that are out (the epoll reader rents arrays, not memory owners).</summary>
internal sealed class CountingArrayPool : ArrayPool<byte>
{
    private int _outstanding;
    private int _rented;

    public int Outstanding => Volatile.Read(ref _outstanding);

    public int Rented => Volatile.Read(ref _rented);

    public override byte[] Rent(int minimumLength)
    {
        Interlocked.Increment(ref _outstanding);
        Interlocked.Increment(ref _rented);
        return Shared.Rent(minimumLength);
    }

    public override void Return(byte[] array, bool clearArray = false)
    {
        Interlocked.Decrement(ref _outstanding);
        Shared.Return(array, clearArray);
    }
}

/// <summary>
/// The socket transport classes run one after another: some assert what a connection holds once idle, which a
/// neighbour's 200 connections or megabyte transfers on the same two cores would only delay.
/// </summary>
[CollectionDefinition(Name)]
public sealed class TransportTestCollection
{
    public const string Name = "socket transports";
}
