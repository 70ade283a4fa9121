namespace Sluice.Proxy.Limits;

/// <summary>
/// A cap on server connections shared by several pools: those of one database on one server
/// (<c>[[databases]] max_server_connections</c>), or of one user on one server (<c>[[users]] max_server_connections</c>).
/// A pool that finds the cap reached is queued; when a slot is freed the queued pools are told, in order. Meanwhile an idle
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
            if (Interlocked.Exchange(ref _max, value) != value)
            {
                NotifyClaimants();
            }
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

    /// <summary>More servers than the cap allows: it was lowered by a reload while they were open.</summary>
    public bool IsExceeded
    {
        get
        {
            lock (_lock)
            {
                var max = Volatile.Read(ref _max);
                return max > 0 && _count > max;
            }
        }
    }

    /// <summary>True when a member other than <paramref name="member"/> waits for a slot.</summary>
    public bool HasClaimantOtherThan(IServerCapMember member)
    {
        lock (_lock)
        {
            return _claimants.Count > 1 || (_claimants.First is { } first && first.Value != member);
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

    /// <summary>
    /// Takes a slot; false when the cap is reached, and then, if <paramref name="claim"/>, <paramref name="member"/> is
    /// told when one is freed and another member is asked to close an idle server. Without a claim (warming up
    /// min_pool_size) nothing else happens: keeping idle servers warm is no reason to close someone else's.
    /// </summary>
    public bool TryAcquire(IServerCapMember member, bool claim = true)
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

            if (!claim)
            {
                return false;
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

    /// <summary>
    /// Tells every queued member, first-come first: a member told may no longer need the slot (its client left), so
    /// telling only the first could leave the others waiting with a slot free. Those that find it taken queue again.
    /// </summary>
    private void NotifyClaimants()
    {
        IServerCapMember[] told;
        lock (_lock)
        {
            var max = Volatile.Read(ref _max);
            if (_claimants.Count == 0 || (max > 0 && _count >= max))
            {
                return;
            }

            told = [.. _claimants];
            _claimants.Clear();
        }

        foreach (var member in told)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static member => member.OnCapSlotFreed(), member, preferLocal: false);
        }
    }
}
