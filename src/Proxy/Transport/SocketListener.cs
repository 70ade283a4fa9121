using System.Net;
using System.Net.Sockets;

namespace Sluice.Proxy.Transport;

/// <summary>
/// Accepts TCP connections on one address and hands each to <c>onAccepted</c>, which owns it from then on. A plain
/// accept loop: Kestrel's transport costs ~3 KiB more per idle connection (bench/RESULTS.md, transports).
/// </summary>
internal sealed class SocketListener : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly Func<Socket, Task> _onAccepted;
    private readonly CancellationTokenSource _stopping = new();
    private Task _acceptLoop = Task.CompletedTask;

    private SocketListener(Socket socket, Func<Socket, Task> onAccepted)
    {
        _socket = socket;
        _onAccepted = onAccepted;
        EndPoint = (IPEndPoint)socket.LocalEndPoint!;
    }

    public IPEndPoint EndPoint { get; }

    /// <summary>Linux's SOL_SOCKET and SO_REUSEPORT (.NET has no name for the latter).</summary>
    private const int SolSocket = 1;
    private const int SoReusePort = 15;

    public static SocketListener Start(IPEndPoint endPoint, Func<Socket, Task> onAccepted, bool reusePort = false)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (reusePort)
            {
                // SO_REUSEPORT: a second process (the new version in a rolling restart) binds the same port while this
                // one drains; the kernel spreads new connections over every socket bound to it until this one closes.
                socket.SetRawSocketOption(SolSocket, SoReusePort, BitConverter.GetBytes(1));
            }

            if (endPoint.AddressFamily == AddressFamily.InterNetworkV6)
            {
                socket.DualMode = endPoint.Address.Equals(IPAddress.IPv6Any);
            }

            socket.Bind(endPoint);
            socket.Listen(1024);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        var listener = new SocketListener(socket, onAccepted);
        // On the thread pool whatever the caller's context: sessions must never run on a host's synchronization
        // context (a test runner's, a UI's), where their continuations would queue behind unrelated work.
        listener._acceptLoop = Task.Run(listener.AcceptLoopAsync);
        return listener;
    }

    /// <summary>Stops accepting; connections already handed out are not touched.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _socket.Dispose();
        await _acceptLoop;
        _stopping.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket accepted;
            try
            {
                accepted = await _socket.AcceptAsync(_stopping.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException)
            {
                // Out of file descriptors or a connection reset before accept: keep serving the others.
                continue;
            }

            _ = _onAccepted(accepted);
        }
    }
}
