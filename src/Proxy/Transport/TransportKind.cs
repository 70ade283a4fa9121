namespace Sluice.Proxy.Transport;

/// <summary>
/// Which socket implementation sits under <see cref="DuplexConnection"/>. Chosen once per process from the hidden
/// <c>SLUICE_TRANSPORT</c> environment variable so the variants can be measured side by side (bench/transports.sh);
/// the default is the one that won on this project's measurements (bench/RESULTS.md, docs/transport.md).
/// </summary>
internal enum TransportKind
{
    /// <summary>Sluice's own socket loops: a zero-byte receive while idle, inline pipes (<see cref="SocketDuplexConnection"/>).</summary>
    Socket,

    /// <summary><c>PipeReader.Create</c>/<c>PipeWriter.Create</c> over a NetworkStream (<see cref="StreamDuplexConnection"/>).</summary>
    Stream,

    /// <summary>Pipelines.Sockets.Unofficial's <c>SocketConnection</c> (<see cref="UnofficialSocketConnection"/>).</summary>
    SocketsUnofficial,

    /// <summary>Sluice's own epoll loops on Linux x86-64 (<see cref="Epoll.EpollConnection"/>); elsewhere the socket layer.</summary>
    Epoll,
}

internal static class TransportSelection
{
    public const string EnvironmentVariable = "SLUICE_TRANSPORT";

    /// <summary>Read once: every connection of a process uses the same implementation.</summary>
    public static TransportKind Current { get; } = Available(Parse(Environment.GetEnvironmentVariable(EnvironmentVariable)));

    public static TransportKind Parse(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" or "socket" => TransportKind.Socket,
        "stream" => TransportKind.Stream,
        "sockets-unofficial" or "psu" => TransportKind.SocketsUnofficial,
        "epoll" => TransportKind.Epoll,
        _ => throw new InvalidOperationException(
            $"{EnvironmentVariable}={value}: expected socket, stream, sockets-unofficial or epoll"),
    };

    /// <summary>The epoll transport where the platform has it (Linux x86-64), the socket layer in its place elsewhere.</summary>
    public static TransportKind Available(TransportKind kind) =>
        kind == TransportKind.Epoll && !Epoll.EpollInterop.IsSupported ? TransportKind.Socket : kind;
}
