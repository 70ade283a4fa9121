using System.Net;
using System.Net.Sockets;

namespace Sluice.Integration.Tests.Support;

/// <summary>
/// A TCP relay on 127.0.0.1 that connects onwards from another loopback source address (127.0.0.2 …), so a client that
/// cannot choose its source address (Npgsql, libpq) reaches the proxy as a second client address. Dispose to stop it.
/// </summary>
public sealed class LoopbackRelay : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _links = [];
    private readonly Task _accepting;

    public LoopbackRelay(IPAddress source, int targetPort)
    {
        _listener.Start();
        _accepting = AcceptAsync(source, targetPort);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Stop();
        await Db.SettleAsync(_accepting);
        Task[] links;
        lock (_links)
        {
            links = [.. _links];
        }

        await Db.SettleAsync(links);
        _stopping.Dispose();
    }

    private async Task AcceptAsync(IPAddress source, int targetPort)
    {
        try
        {
            while (!_stopping.IsCancellationRequested)
            {
                var client = await _listener.AcceptSocketAsync(_stopping.Token);
                var link = LinkAsync(client, source, targetPort);
                lock (_links)
                {
                    _links.Add(link);
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task LinkAsync(Socket client, IPAddress source, int targetPort)
    {
        using var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using (client)
        {
            try
            {
                server.Bind(new IPEndPoint(source, 0));
                await server.ConnectAsync(new IPEndPoint(IPAddress.Loopback, targetPort), _stopping.Token);
                await using var clientStream = new NetworkStream(client, ownsSocket: false);
                await using var serverStream = new NetworkStream(server, ownsSocket: false);
                var up = clientStream.CopyToAsync(serverStream, _stopping.Token);
                var down = serverStream.CopyToAsync(clientStream, _stopping.Token);
                await Task.WhenAny(up, down);
                client.Shutdown(SocketShutdown.Both);
                server.Shutdown(SocketShutdown.Both);
                await Db.SettleAsync(up, down);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or IOException or ObjectDisposedException)
            {
            }
        }
    }
}
