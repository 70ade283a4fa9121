using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Sluice.Proxy.Transport.Epoll;

/// <summary>
/// The few libc calls the epoll transport makes. Sockets are passed as their <see cref="SafeSocketHandle"/>, so the
/// marshaller holds a reference for the length of each call: a socket closed by another thread (an abort) is never
/// closed — and its descriptor number never reused by a new connection — while a receive or send on it is running.
/// </summary>
internal static unsafe partial class EpollInterop
{
    public const uint EpollIn = 0x001;
    public const uint EpollOut = 0x004;
    public const uint EpollErr = 0x008;
    public const uint EpollHup = 0x010;
    public const uint EpollRdHup = 0x2000;
    public const uint EpollEdgeTriggered = 1u << 31;

    public const int EIntr = 4;
    public const int EAgain = 11;

    private const int EpollCloexec = 0x80000;
    private const int EpollCtlAdd = 1;
    private const int EpollCtlDel = 2;
    private const int MsgNoSignal = 0x4000;

    /// <summary>
    /// Linux on x86-64 only: there the kernel's <c>struct epoll_event</c> is packed (12 bytes), which
    /// <see cref="EpollEvent"/> reproduces; other architectures lay it out differently and use the socket transport.
    /// </summary>
    public static bool IsSupported => OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture == Architecture.X64;

    /// <summary>One ready descriptor as epoll_wait reports it: what happened, and the registration's own 64 bits.</summary>
    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    public struct EpollEvent
    {
        public uint Events;
        public ulong Data;
    }

    public static int CreateEpoll()
    {
        var fd = epoll_create1(EpollCloexec);
        return fd >= 0 ? fd : throw new SocketException(Marshal.GetLastPInvokeError());
    }

    public static void Add(int epollFd, SafeSocketHandle socket, uint events, ulong data)
    {
        var ev = new EpollEvent { Events = events, Data = data };
        if (epoll_ctl(epollFd, EpollCtlAdd, socket, &ev) != 0)
        {
            throw new SocketException(Marshal.GetLastPInvokeError());
        }
    }

    /// <summary>Best effort: a socket already closed has left every epoll set on its own.</summary>
    public static void Remove(int epollFd, SafeSocketHandle socket)
    {
        var ev = default(EpollEvent);
        try
        {
            _ = epoll_ctl(epollFd, EpollCtlDel, socket, &ev);
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>Waits without a timeout; returns how many events were written, or -1 with the errno in <paramref name="error"/>.</summary>
    public static int Wait(int epollFd, EpollEvent* events, int capacity, out int error)
    {
        var count = epoll_wait(epollFd, events, capacity, -1);
        error = count < 0 ? Marshal.GetLastPInvokeError() : 0;
        return count;
    }

    /// <summary>Bytes received (0 = end of stream), or -1 with the errno in <paramref name="error"/>.</summary>
    public static int Receive(SafeSocketHandle socket, Span<byte> buffer, out int error)
    {
        nint received;
        fixed (byte* start = buffer)
        {
            received = recv(socket, start, (nuint)buffer.Length, 0);
        }

        error = received < 0 ? Marshal.GetLastPInvokeError() : 0;
        return (int)received;
    }

    /// <summary>Bytes the socket buffer took, or -1 with the errno in <paramref name="error"/>. Never raises SIGPIPE.</summary>
    public static int Send(SafeSocketHandle socket, ReadOnlySpan<byte> buffer, out int error)
    {
        nint sent;
        fixed (byte* start = buffer)
        {
            sent = send(socket, start, (nuint)buffer.Length, MsgNoSignal);
        }

        error = sent < 0 ? Marshal.GetLastPInvokeError() : 0;
        return (int)sent;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int epoll_create1(int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int epoll_ctl(int epfd, int op, SafeSocketHandle fd, EpollEvent* ev);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int epoll_wait(int epfd, EpollEvent* events, int maxevents, int timeout);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint recv(SafeSocketHandle sockfd, byte* buf, nuint len, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint send(SafeSocketHandle sockfd, byte* buf, nuint len, int flags);
}
