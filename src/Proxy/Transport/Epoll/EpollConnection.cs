using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;

namespace Sluice.Proxy.Transport.Epoll;

/// <summary>
/// A TCP connection served by one of Sluice's own epoll loops instead of .NET's socket engine (docs/transport.md,
/// "The epoll transport"). The input is an <see cref="EpollPipeReader"/> that receives itself — no Pipe, no receive
/// loop, no buffer while idle — and the output is the socket transport's <see cref="SocketPipeWriter"/>, sending on the
/// flushing thread; a send that finds the socket buffer full waits for the loop's writable edge. Whatever waits on the
/// connection runs inline on the loop thread that saw it become ready, so a relayed message crosses no thread.
/// <para>
/// The socket is never handed to .NET's asynchronous operations: that would register it with .NET's epoll as well,
/// and each event would wake two threads.
/// </para>
/// </summary>
internal sealed class EpollConnection : PipedSocketConnection, IDuplexPipe, ISocketSender
{
    private const uint ReadEvents = EpollInterop.EpollIn | EpollInterop.EpollRdHup | EpollInterop.EpollHup | EpollInterop.EpollErr;
    private const uint ReadEndEvents = EpollInterop.EpollRdHup | EpollInterop.EpollHup | EpollInterop.EpollErr;
    private const uint WriteEvents = EpollInterop.EpollOut | EpollInterop.EpollHup | EpollInterop.EpollErr;
    private const uint WriteEndEvents = EpollInterop.EpollHup | EpollInterop.EpollErr;

    private readonly EpollLoop _loop;
    private readonly EpollPipeReader _receive;
    private readonly SocketPipeWriter _send;
    private ReadinessSignal _writable;
    private ParkedSend? _parkedSend;
    private volatile bool _aborted;
    private int _disposed;

    /// <param name="socket">A connected socket (or one whose non-blocking connect is under way); owned from now on.</param>
    /// <param name="receivePool">Where receive arrays are rented (tests count them); the shared pool when null.</param>
    /// <param name="sendPool">Where send blocks are rented; the shared pool when null.</param>
    public EpollConnection(Socket socket, ArrayPool<byte>? receivePool = null, MemoryPool<byte>? sendPool = null)
        : this(socket, connected: true, receivePool, sendPool)
    {
    }

    private EpollConnection(Socket socket, bool connected, ArrayPool<byte>? receivePool, MemoryPool<byte>? sendPool)
        : base(socket, connected)
    {
        socket.Blocking = false;
        _receive = new EpollPipeReader(socket.SafeHandle, receivePool ?? ArrayPool<byte>.Shared);
        _send = new SocketPipeWriter(this, sendPool ?? MemoryPool<byte>.Shared);
        _loop = EpollLoop.Pool.Next();

        // Last: events may arrive on the loop thread as soon as the socket is in the set.
        _loop.Register(this, socket.SafeHandle);
    }

    /// <summary>This connection's registration with its loop (set by <see cref="EpollLoop.Register"/>).</summary>
    internal ulong RegistrationToken { get; set; }

    /// <summary>Nothing buffered for reading (tests: an idle connection holds no receive array).</summary>
    internal bool HoldsNoReceiveBuffer => _receive.HoldsNoBuffer;

    PipeReader IDuplexPipe.Input => _receive;

    PipeWriter IDuplexPipe.Output => _send;

    protected override IDuplexPipe Raw => this;

    /// <summary>
    /// Connects without .NET's asynchronous connect (which would tie the socket to .NET's epoll): a non-blocking
    /// connect, then the loop's first writable edge, then the socket's own verdict (SO_ERROR). Tries each address of
    /// <paramref name="host"/> in turn, as Socket.ConnectAsync does.
    /// </summary>
    public static async ValueTask<DuplexConnection> ConnectNonBlockingAsync(string host, int port, CancellationToken cancellationToken)
    {
        var addresses = IPAddress.TryParse(host, out var literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(host, cancellationToken);
        SocketException? lastError = null;
        foreach (var address in addresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { Blocking = false, NoDelay = true };
            EpollConnection? connection = null;
            try
            {
                try
                {
                    socket.Connect(new IPEndPoint(address, port));
                }
                catch (SocketException ex) when (ex.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress)
                {
                }

                connection = new EpollConnection(socket, connected: false, receivePool: null, sendPool: null);
                await connection.WaitWritableAsync(cancellationToken);
                if (socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error) is int error and not 0)
                {
                    throw new SocketException(error);
                }

                connection.RefreshEndPoints();
                return connection;
            }
            catch (Exception ex)
            {
                if (connection is not null)
                {
                    connection.Abort();
                    await connection.DisposeAsync();
                }
                else
                {
                    socket.Dispose();
                }

                if (ex is SocketException socketError && !cancellationToken.IsCancellationRequested)
                {
                    lastError = socketError;
                    continue;
                }

                throw;
            }
        }

        throw lastError ?? new SocketException((int)SocketError.HostNotFound);
    }

    /// <summary>Loop thread: what epoll_wait reported for this socket.</summary>
    public void OnEvents(uint events)
    {
        if ((events & ReadEvents) != 0)
        {
            _receive.OnReadable(hungUp: (events & ReadEndEvents) != 0);
        }

        if ((events & WriteEvents) != 0 && _writable.Report(hungUp: (events & WriteEndEvents) != 0))
        {
            _parkedSend!.Wake();
        }
    }

    int ISocketSender.SendNow(ReadOnlySpan<byte> bytes)
    {
        while (true)
        {
            var sent = EpollInterop.Send(Socket.SafeHandle, bytes, out var error);
            if (sent >= 0)
            {
                return sent;
            }

            if (error == EpollInterop.EAgain)
            {
                return 0;
            }

            if (error != EpollInterop.EIntr)
            {
                throw new SocketException(error);
            }
        }
    }

    async ValueTask<int> ISocketSender.SendWhenWritableAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        var sender = (ISocketSender)this;
        while (true)
        {
            var snapshot = _writable.Snapshot();
            var sent = sender.SendNow(bytes.Span);
            if (sent > 0)
            {
                return sent;
            }

            _writable.MarkDrained(snapshot);
            await WaitWritableAsync(cancellationToken);
        }
    }

    protected override void OnAbort()
    {
        _aborted = true;
        _loop.Unregister(RegistrationToken, Socket.SafeHandle);
        FailWaiters();
    }

    protected override bool TryStartDispose() => Interlocked.Exchange(ref _disposed, 1) == 0;

    protected override async ValueTask CloseAsync()
    {
        await CompleteSendingAsync(_send);

        // Out of the epoll set before the descriptor closes; then nothing may wait for an event that cannot come.
        _aborted = true;
        _loop.Unregister(RegistrationToken, Socket.SafeHandle);
        FailWaiters();
        ShutdownAndClose();
    }

    /// <summary>A read or send still parked fails with an IOException, as a closed socket fails .NET's pending operations.</summary>
    private void FailWaiters()
    {
        _receive.OnAborted();
        if (_writable.TryTakeParked())
        {
            ThreadPool.UnsafeQueueUserWorkItem(static parked => parked.Fail(new IOException("connection aborted")), _parkedSend!, preferLocal: false);
        }
    }

    /// <summary>Until the loop reports the socket writable (after a send found it full, or a connect under way).</summary>
    private async ValueTask WaitWritableAsync(CancellationToken cancellationToken)
    {
        var parked = _parkedSend ??= new ParkedSend();
        parked.Reset();
        using var cancellation = cancellationToken.CanBeCanceled
            ? cancellationToken.UnsafeRegister(static state => ((EpollConnection)state!).WakeCanceledSend(), this)
            : default;
        if (!_writable.TryPark())
        {
            // Writable again since the snapshot: no need to wait.
            return;
        }

        // An abort or a cancellation that looked before we parked found nobody to wake.
        if ((_aborted || cancellationToken.IsCancellationRequested) && _writable.TryTakeParked())
        {
            cancellationToken.ThrowIfCancellationRequested();
            throw new IOException("connection aborted");
        }

        await parked.WaitAsync();
    }

    private void WakeCanceledSend()
    {
        if (_writable.TryTakeParked())
        {
            _parkedSend!.Fail(new OperationCanceledException());
        }
    }
}
