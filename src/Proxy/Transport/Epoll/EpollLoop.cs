using System.Net.Sockets;

namespace Sluice.Proxy.Transport.Epoll;

/// <summary>
/// One thread waiting in epoll_wait for the sockets registered with it, PgBouncer's event loop: each ready socket's
/// connection is told what happened, and whatever was waiting on it (the session reading, a send waiting for room)
/// runs right here, inline. Sockets are registered edge-triggered for input, output and hang-up once, for their
/// whole life, so the common path never calls epoll_ctl.
/// <para>
/// A registration is named by a slot in this loop's table and a generation, not by the file descriptor or a pointer:
/// an event that epoll_wait already returned for a connection that has since closed — whose descriptor number a new
/// connection may already have — finds a different generation in the slot (or none) and is dropped.
/// </para>
/// </summary>
internal sealed unsafe class EpollLoop
{
    private const int MaxEventsPerWait = 256;
    private const uint Interest = EpollInterop.EpollIn | EpollInterop.EpollOut | EpollInterop.EpollRdHup | EpollInterop.EpollEdgeTriggered;

    private readonly int _epollFd;
    private readonly Lock _registrations = new();

    // Written under _registrations; read by the loop thread without it (a stale read only drops or misdirects an
    // event to a connection that has closed, which ignores it).
    private EpollConnection?[] _slots = new EpollConnection?[64];
    private uint[] _generations = new uint[64];
    private readonly Stack<int> _freeSlots = new();
    private int _nextUnusedSlot;

    private EpollLoop(int index)
    {
        _epollFd = EpollInterop.CreateEpoll();
        var thread = new Thread(Run)
        {
            IsBackground = true,
            Name = $"sluice epoll {index}",
        };
        thread.UnsafeStart();
    }

    /// <summary>Registers a non-blocking socket; its events go to <paramref name="connection"/> until <see cref="Unregister"/>.</summary>
    public ulong Register(EpollConnection connection, SafeSocketHandle socket)
    {
        ulong token;
        lock (_registrations)
        {
            var slot = _freeSlots.Count > 0 ? _freeSlots.Pop() : _nextUnusedSlot++;
            if (slot == _slots.Length)
            {
                Array.Resize(ref _generations, slot * 2);
                var grown = new EpollConnection?[slot * 2];
                _slots.CopyTo(grown, 0);
                Volatile.Write(ref _slots, grown);
            }

            var generation = ++_generations[slot];
            token = ((ulong)generation << 32) | (uint)slot;
            connection.RegistrationToken = token;
            Volatile.Write(ref _slots[slot], connection);
        }

        try
        {
            EpollInterop.Add(_epollFd, socket, Interest, token);
        }
        catch
        {
            Release(token);
            throw;
        }

        return token;
    }

    /// <summary>
    /// Takes the socket out of the epoll set (before it is closed) and frees its slot; an event already on its way is
    /// dropped by the generation check. Safe to call more than once.
    /// </summary>
    public void Unregister(ulong token, SafeSocketHandle socket)
    {
        EpollInterop.Remove(_epollFd, socket);
        Release(token);
    }

    private void Release(ulong token)
    {
        var slot = (int)(uint)token;
        lock (_registrations)
        {
            if (_slots[slot] is { } registered && registered.RegistrationToken == token)
            {
                Volatile.Write(ref _slots[slot], null);
                _freeSlots.Push(slot);
            }
        }
    }

    private void Run()
    {
        var events = stackalloc EpollInterop.EpollEvent[MaxEventsPerWait];
        while (true)
        {
            var count = EpollInterop.Wait(_epollFd, events, MaxEventsPerWait, out var error);
            if (count < 0)
            {
                if (error == EpollInterop.EIntr)
                {
                    continue;
                }

                // EBADF/EINVAL: the epoll descriptor itself is gone, which only a bug can cause; nothing here recovers.
                throw new SocketException(error);
            }

            for (var i = 0; i < count; i++)
            {
                var token = events[i].Data;
                var slots = Volatile.Read(ref _slots);
                var slot = (int)(uint)token;
                if (slot < slots.Length && Volatile.Read(ref slots[slot]) is { } connection && connection.RegistrationToken == token)
                {
                    connection.OnEvents(events[i].Events);
                }
            }
        }
    }

    /// <summary>The process's loops: one per core unless <c>SLUICE_EPOLL_THREADS</c> says otherwise (read once).</summary>
    public static class Pool
    {
        public const string ThreadsVariable = "SLUICE_EPOLL_THREADS";

        private static readonly Lazy<EpollLoop[]> Loops = new(Start);
        private static int _next;

        /// <summary>Connections are spread over the loops in turn.</summary>
        public static EpollLoop Next()
        {
            var loops = Loops.Value;
            return loops[(int)((uint)Interlocked.Increment(ref _next) % (uint)loops.Length)];
        }

        private static EpollLoop[] Start()
        {
            var count = int.TryParse(Environment.GetEnvironmentVariable(ThreadsVariable), out var configured) && configured > 0
                ? configured
                : Environment.ProcessorCount;
            var loops = new EpollLoop[count];
            for (var i = 0; i < count; i++)
            {
                loops[i] = new EpollLoop(i);
            }

            return loops;
        }
    }
}
