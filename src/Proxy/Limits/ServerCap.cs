namespace Sluice.Proxy.Limits;

/// <summary>
/// A cap on server connections shared by several pools: those of one database on one server
/// (<c>[[databases]] max_server_connections</c>), or of one user on one server (<c>[[users]] max_server_connections</c>).
/// A pool that finds the cap reached is queued; when a slot is freed the first queued pool is told. Meanwhile an idle
/// server of another pool is closed, so idle connections of one user never starve another user's waiting clients.
/// Members are called back on the thread pool, never under this cap's lock or the caller's.
/// </summary>
internal sealed class ServerCap
{
    private readonly Lock _lock = new();
    private readonly List<IServerCapMember> _members = [];
    private readonly LinkedList<IServerCapMember> _claimants = new();
    private int _count;
    private int _max;

    public ServerCap(int max)
    {
        _max = max;
    }

    /// <summary>0 = no cap. Changed by a reload: applies to the next server opened; none is closed for it.</summary>
    public int Max
    {
        get => Volatile.Read(ref _max);
        set
        {
            Volatile.Write(ref _max, value);
            NotifyClaimants();
        }
    }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _count;
            }
        }
    }

    public void Join(IServerCapMember member)
    {
        lock (_lock)
        {
            _members.Add(member);
        }
    }

    public void Leave(IServerCapMember member)
    {
        lock (_lock)
        {
            _members.Remove(member);
            _claimants.Remove(member);
        }
    }

    /// <summary>Takes a slot; false when the cap is reached, and then <paramref name="member"/> is told when one is freed.</summary>
    public bool TryAcquire(IServerCapMember member)
    {
        IServerCapMember[] others;
        lock (_lock)
        {
            var max = Volatile.Read(ref _max);
            if (max <= 0 || _count < max)
            {
                _count++;
                return true;
            }

            if (!_claimants.Contains(member))
            {
                _claimants.AddLast(member);
            }

            others = [.. _members.Where(m => m != member)];
        }

        ThreadPool.UnsafeQueueUserWorkItem(static others => CloseOneIdle(others), others, preferLocal: false);
        return false;
    }

    /// <summary>Gives a slot back (a server closed, or a connection attempt failed).</summary>
    public void Release()
    {
        lock (_lock)
        {
            _count--;
        }

        NotifyClaimants();
    }

    private static void CloseOneIdle(IServerCapMember[] members)
    {
        foreach (var member in members)
        {
            if (member.TryCloseIdleServer())
            {
                return;
            }
        }
    }

    private void NotifyClaimants()
    {
        IServerCapMember? next = null;
        lock (_lock)
        {
            var max = Volatile.Read(ref _max);
            if (_claimants.First is { } first && (max <= 0 || _count < max))
            {
                _claimants.RemoveFirst();
                next = first.Value;
            }
        }

        if (next is not null)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static member => member.OnCapSlotFreed(), next, preferLocal: false);
        }
    }
}
