using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Sluice.Proxy.Limits;
using Sluice.Proxy.Servers;

namespace Sluice.Proxy.Pooling;

/// <summary>
/// The server connections of one (database, user, server). Size is a hard bound; clients that find none free wait in
/// FIFO order up to checkout_timeout. Idle connections are kept LIFO so the warmest is reused first and the coldest
/// ages out under server_idle_timeout.
/// </summary>
internal sealed partial class ServerPool : IServerCapMember
{
    private readonly Lock _lock = new();
    private readonly List<ServerConnection> _idle = [];
    private readonly LinkedList<Waiter> _waiters = new();
    private readonly ILogger _logger;
    private readonly PoolServerCaps _caps;
    private int _total;
    private bool _reserveCheckPending;
    private bool _joinedCaps;
    private int _connecting;
    private bool _retired;
    private long _checkoutCount;

    // Admin console: non-null while PAUSE holds new transactions (completed by RESUME); servers made at or before
    // _reconnectBefore are closed instead of reused (RECONNECT, KILL).
    private TaskCompletionSource? _resumed;
    private long _reconnectBefore = long.MinValue;
    private IReadOnlyDictionary<string, string>? _serverParameters;

    public ServerPool(string database, string user, ServerLoginTarget target, PoolSettings settings, ILogger logger, PoolServerCaps? caps = null)
    {
        _caps = caps ?? PoolServerCaps.None;
        Database = database;
        User = user;
        Target = target;
        Settings = settings;
        _logger = logger;
    }

    public string Database { get; }

    public string User { get; }

    public ServerLoginTarget Target { get; }

    public PoolSettings Settings { get; set; }

    /// <summary>Where new server connections come from; null for TCP (set by the registry, for in-memory tests).</summary>
    public ServerConnectionOpener? OpenConnection { get; init; }

    public int IdleCount
    {
        get
        {
            lock (_lock)
            {
                return _idle.Count;
            }
        }
    }

    public int TotalCount => Volatile.Read(ref _total);

    public int ConnectingCount => Volatile.Read(ref _connecting);

    public int ActiveCount
    {
        get
        {
            lock (_lock)
            {
                return _total - _idle.Count - _connecting;
            }
        }
    }

    public int WaitingCount
    {
        get
        {
            lock (_lock)
            {
                return _waiters.Count;
            }
        }
    }

    public long CheckoutCount => Interlocked.Read(ref _checkoutCount);

    /// <summary>How long the oldest waiting client has waited, zero when none waits.</summary>
    public TimeSpan OldestWait
    {
        get
        {
            lock (_lock)
            {
                return _waiters.First is { } first ? Stopwatch.GetElapsedTime(first.Value.Since) : TimeSpan.Zero;
            }
        }
    }

    /// <summary>
    /// What the server reported at login (server_version, encodings, …): clients are told these at their own login,
    /// before they are ever lent a connection.
    /// </summary>
    public async ValueTask<IReadOnlyDictionary<string, string>> GetServerParametersAsync(CancellationToken cancellationToken)
    {
        if (_serverParameters is { } known)
        {
            return known;
        }

        var server = await CheckoutAsync(cancellationToken);
        var parameters = new Dictionary<string, string>(server.ReportedParameters, StringComparer.OrdinalIgnoreCase);
        _serverParameters = parameters;
        Release(server);
        return parameters;
    }

    /// <summary>
    /// Lends a server connection; throws <see cref="PoolTimeoutException"/> after checkout_timeout, counted from
    /// <paramref name="waitingSince"/> when the client already waited for something else (a transaction rate).
    /// </summary>
    public ValueTask<ServerConnection> CheckoutAsync(CancellationToken cancellationToken, long waitingSince = 0)
    {
        Waiter? waiter = null;
        lock (_lock)
        {
            while (_idle.Count > 0)
            {
                var candidate = _idle[^1];
                _idle.RemoveAt(_idle.Count - 1);
                if (IsUsable(candidate))
                {
                    Interlocked.Increment(ref _checkoutCount);
                    return ValueTask.FromResult(candidate);
                }

                Shrink();
                _ = candidate.DisposeAsync();
            }

            if (_waiters.Count > 0 || !TryGrow(Settings.Size))
            {
                waiter = new Waiter(waitingSince != 0 ? waitingSince : Stopwatch.GetTimestamp());
                waiter.Node = _waiters.AddLast(waiter);
                ScheduleReserveCheck();
            }
        }

        return waiter is null ? new ValueTask<ServerConnection>(ConnectForCheckoutAsync(cancellationToken)) : new ValueTask<ServerConnection>(WaitAsync(waiter, cancellationToken));
    }

    /// <summary>Takes back a server after use: to the next waiter, to the idle list, or closed when it is not fit.</summary>
    public void Release(ServerConnection server)
    {
        server.LastUsedAt = Stopwatch.GetTimestamp();
        if (server.IsBroken || _retired || server.TransactionStatus != Protocol.Messages.TransactionStatus.Idle
            || server.CreatedAt <= Volatile.Read(ref _reconnectBefore)
            || (Settings.Lifetime > TimeSpan.Zero && Stopwatch.GetElapsedTime(server.CreatedAt) > Settings.Lifetime)
            || _caps.IsExceeded)
        {
            // Not fit for reuse; or over a database or user cap that a reload lowered, so servers go as they come
            // back (none in use is cut off) and a client waiting here asks the cap for a slot like any other.
            Discard(server);
            return;
        }

        while (true)
        {
            Waiter? next;
            lock (_lock)
            {
                if (ReservePolicy.IsSurplus(_total, Settings.Size, Settings.ReserveSize, _waiters.Count > 0))
                {
                    // Shrunk by a reload, or a reserve server no client waits for: let the surplus go as it comes back.
                    Shrink();
                    _ = server.CloseAsync();
                    return;
                }

                if (_waiters.First is { } first)
                {
                    _waiters.RemoveFirst();
                    first.Value.Node = null;
                    next = first.Value;
                }
                else if (_resumed is not null || _caps.HasClaimantOtherThan(this))
                {
                    // Paused: no idle servers are kept, so the servers can be restarted behind the proxy. Or another
                    // pool waits under a shared cap: the slot goes to it rather than to an idle server here.
                    Shrink();
                    _ = server.CloseAsync();
                    return;
                }
                else
                {
                    _idle.Add(server);
                    return;
                }
            }

            // Outside the lock: the waiting client's session goes on right here, on this thread (see Waiter), and
            // may come back to this pool. A waiter whose wait ended meanwhile (timeout, close) passes to the next.
            if (next.Completion.TrySetResult(server))
            {
                Interlocked.Increment(ref _checkoutCount);
                return;
            }
        }
    }

    /// <summary>Closes a server that cannot be reused and, if clients wait, opens a replacement for them.</summary>
    public void Discard(ServerConnection server)
    {
        bool grow;
        lock (_lock)
        {
            Shrink();
            grow = _waiters.Count > 0 && !_retired && TryGrow(GrowthLimit());
        }

        _ = server.CloseAsync();
        if (grow)
        {
            _ = ConnectForWaitersAsync();
        }
    }

    /// <summary>
    /// Closes idle servers past server_idle_timeout or server_lifetime (keeping min_size), or above a lowered shared
    /// cap, and opens servers up to min_size. Called periodically by the pool registry.
    /// </summary>
    public async Task MaintainAsync(CancellationToken cancellationToken)
    {
        List<ServerConnection>? expired = null;
        int missing;
        lock (_lock)
        {
            var settings = Settings;
            for (var i = 0; i < _idle.Count && _total - (expired?.Count ?? 0) > 0; i++)
            {
                var server = _idle[i];
                var idleFor = Stopwatch.GetElapsedTime(server.LastUsedAt);
                var age = Stopwatch.GetElapsedTime(server.CreatedAt);
                var idleExpired = settings.IdleTimeout > TimeSpan.Zero && idleFor > settings.IdleTimeout && _total - (expired?.Count ?? 0) > settings.MinSize;
                var lifetimeExpired = settings.Lifetime > TimeSpan.Zero && age > settings.Lifetime;
                if (idleExpired || lifetimeExpired || _retired || !IsUsable(server))
                {
                    (expired ??= []).Add(server);
                    _idle.RemoveAt(i);
                    i--;
                }
            }

            Shrink(expired?.Count ?? 0);
            if (_idle.Count > 0 && _caps.IsExceeded)
            {
                // A reload lowered a database or user cap below the servers open: the coldest idle server goes, one
                // per pass, until the cap holds.
                (expired ??= []).Add(_idle[0]);
                _idle.RemoveAt(0);
                Shrink();
            }

            missing = 0;
            while (!_retired && _resumed is null && _total < Math.Min(settings.MinSize, settings.Size) && TryGrow(settings.Size, claim: false))
            {
                missing++;
            }
        }

        if (expired is not null)
        {
            foreach (var server in expired)
            {
                await server.CloseAsync();
            }
        }

        for (var i = 0; i < missing; i++)
        {
            try
            {
                var server = await ServerConnection.ConnectAsync(Target, Settings.ConnectTimeout, Settings.ServerTls, OpenConnection, cancellationToken);
                server.Pool = this;
                lock (_lock)
                {
                    _connecting--;
                }

                Release(server);
            }
            catch (Exception ex) when (ex is ServerConnectException or OperationCanceledException)
            {
                lock (_lock)
                {
                    _connecting--;
                    Shrink();
                }

                if (ex is ServerConnectException connectError)
                {
                    LogWarmUpFailed(_logger, Target.ServerName, Database, User, connectError.Message);
                }

                break;
            }
        }
    }

    /// <summary>No new lending: idle servers are closed now, lent ones when they come back.</summary>
    public void Retire()
    {
        List<ServerConnection> idle;
        lock (_lock)
        {
            _retired = true;
            idle = [.. _idle];
            Shrink(_idle.Count);
            _idle.Clear();
        }

        _caps.Leave(this);

        foreach (var server in idle)
        {
            _ = server.CloseAsync();
        }
    }

    /// <summary>Closes idle servers now (RECONNECT, KILL); lent ones stay with their clients.</summary>
    public void CloseIdle()
    {
        List<ServerConnection> idle;
        lock (_lock)
        {
            idle = [.. _idle];
            Shrink(_idle.Count);
            _idle.Clear();
        }

        foreach (var server in idle)
        {
            _ = server.CloseAsync();
        }
    }

    /// <summary>Snapshot of idle servers, for the admin console.</summary>
    public ServerConnection[] IdleSnapshot()
    {
        lock (_lock)
        {
            return [.. _idle];
        }
    }

    /// <summary>PAUSE is in effect: new transactions wait in <see cref="WaitWhilePausedAsync"/>, returned servers are closed.</summary>
    public bool IsPaused => Volatile.Read(ref _resumed) is not null;

    /// <summary>
    /// The gate a client passes before it asks for a server (at the start of a transaction): completes at once unless
    /// the pool is paused, else when it is resumed.
    /// </summary>
    public ValueTask WaitWhilePausedAsync(CancellationToken cancellationToken) =>
        Volatile.Read(ref _resumed) is null ? ValueTask.CompletedTask : WaitForResumeAsync(cancellationToken);

    /// <summary>PAUSE: holds new transactions and closes idle servers (running transactions go on; their servers close on return).</summary>
    public void Pause()
    {
        lock (_lock)
        {
            _resumed ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        CloseIdle();
    }

    /// <summary>RESUME: lets held clients go on.</summary>
    public void Resume()
    {
        TaskCompletionSource? resumed;
        lock (_lock)
        {
            resumed = _resumed;
            _resumed = null;
        }

        resumed?.TrySetResult();
    }

    /// <summary>RECONNECT / KILL: idle servers close now, lent ones when they come back; new ones are opened as needed.</summary>
    public void Reconnect()
    {
        Volatile.Write(ref _reconnectBefore, Stopwatch.GetTimestamp());
        CloseIdle();
    }

    private async ValueTask WaitForResumeAsync(CancellationToken cancellationToken)
    {
        while (Volatile.Read(ref _resumed) is { } resumed)
        {
            await resumed.Task.WaitAsync(cancellationToken);
        }
    }

    private static bool IsUsable(ServerConnection server) => !server.IsBroken && !server.Connection.HasPendingInputOrClosed();

    private async Task<ServerConnection> ConnectForCheckoutAsync(CancellationToken cancellationToken)
    {
        try
        {
            var server = await ServerConnection.ConnectAsync(Target, Settings.ConnectTimeout, Settings.ServerTls, OpenConnection, cancellationToken);
            server.Pool = this;
            lock (_lock)
            {
                _connecting--;
            }

            Interlocked.Increment(ref _checkoutCount);
            return server;
        }
        catch
        {
            lock (_lock)
            {
                _connecting--;
                Shrink();
            }

            throw;
        }
    }

    private async Task ConnectForWaitersAsync()
    {
        try
        {
            var server = await ServerConnection.ConnectAsync(Target, Settings.ConnectTimeout, Settings.ServerTls, OpenConnection, CancellationToken.None);
            server.Pool = this;
            lock (_lock)
            {
                _connecting--;
            }

            Release(server);
        }
        catch (Exception ex) when (ex is ServerConnectException or OperationCanceledException)
        {
            Waiter? first = null;
            lock (_lock)
            {
                _connecting--;
                Shrink();
                if (_waiters.First is { } node)
                {
                    _waiters.RemoveFirst();
                    node.Value.Node = null;
                    first = node.Value;
                }
            }

            first?.Completion.TrySetException(ex);
        }
    }

    private async Task<ServerConnection> WaitAsync(Waiter waiter, CancellationToken cancellationToken)
    {
        var timeout = Settings.CheckoutTimeout;
        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (timeout > TimeSpan.Zero)
        {
            timeoutSource.CancelAfter(TimeSpan.FromTicks(Math.Max(1, (timeout - Stopwatch.GetElapsedTime(waiter.Since)).Ticks)));
        }

        // A wait that ends by timeout or by the client closing goes on on the thread pool, not inside whoever cancelled
        // (a timer, or a shutdown walking every session).
        using (timeoutSource.Token.UnsafeRegister(static state => ThreadPool.UnsafeQueueUserWorkItem(
                   static waiter => waiter.Completion.TrySetCanceled(), (Waiter)state!, preferLocal: false), waiter))
        {
            try
            {
                return await waiter.Completion.Task;
            }
            catch (OperationCanceledException)
            {
                lock (_lock)
                {
                    if (waiter.Node is not null)
                    {
                        _waiters.Remove(waiter.Node);
                        waiter.Node = null;
                    }
                }

                // A server may have been handed over in the same instant the timeout fired.
                if (waiter.Completion.Task.IsCompletedSuccessfully)
                {
                    return waiter.Completion.Task.Result;
                }

                cancellationToken.ThrowIfCancellationRequested();
                throw new PoolTimeoutException(
                    $"no server connection became free within checkout_timeout ({timeout.TotalSeconds:0.###}s) for database \"{Database}\" user \"{User}\"");
            }
        }
    }

    /// <summary>A database or user cap freed a slot this pool asked for: open a server for the first waiter.</summary>
    void IServerCapMember.OnCapSlotFreed()
    {
        lock (_lock)
        {
            if (_waiters.Count == 0 || _retired || !TryGrow(GrowthLimit()))
            {
                return;
            }
        }

        _ = ConnectForWaitersAsync();
    }

    /// <summary>Another pool under the same cap needs a slot: the coldest idle server goes, if nobody here waits.</summary>
    bool IServerCapMember.TryCloseIdleServer()
    {
        ServerConnection coldest;
        lock (_lock)
        {
            if (_idle.Count == 0 || _waiters.Count > 0)
            {
                return false;
            }

            coldest = _idle[0];
            _idle.RemoveAt(0);
            Shrink();
        }

        _ = coldest.CloseAsync();
        return true;
    }

    /// <summary>
    /// Counts a server about to be opened, within <paramref name="limit"/> and the shared caps (claiming the next free
    /// slot when they are reached, unless only warming up); caller holds the lock.
    /// </summary>
    private bool TryGrow(int limit, bool claim = true)
    {
        if (!_joinedCaps)
        {
            // Joined on first use, so a pool made and dropped in a registry race never stays a member.
            _joinedCaps = true;
            _caps.Join(this);
        }

        if (_total >= limit || !_caps.TryAcquire(this, claim))
        {
            return false;
        }

        _total++;
        _connecting++;
        return true;
    }

    /// <summary>Stops counting <paramref name="count"/> servers (closed, or never opened); caller holds the lock.</summary>
    private void Shrink(int count = 1)
    {
        _total -= count;
        for (var i = 0; i < count; i++)
        {
            _caps.Release();
        }
    }

    /// <summary>The pool's size, or size plus reserve once the oldest client has waited reserve_pool_timeout; caller holds the lock.</summary>
    private int GrowthLimit() =>
        ReservePolicy.Limit(Settings.Size, Settings.ReserveSize, Settings.ReserveTimeout,
            _waiters.First is { } first ? Stopwatch.GetElapsedTime(first.Value.Since) : TimeSpan.Zero);

    /// <summary>With a reserve pool, looks again when the oldest waiter has waited reserve_pool_timeout; caller holds the lock.</summary>
    private void ScheduleReserveCheck(bool retryDue = true)
    {
        if (Settings.ReserveSize <= 0 || _reserveCheckPending || _waiters.First is not { } first)
        {
            return;
        }

        var due = Settings.ReserveTimeout - Stopwatch.GetElapsedTime(first.Value.Since);
        if (due <= TimeSpan.Zero && !retryDue)
        {
            // Past its time and still not served: the reserve is in use or a cap is reached; a returned or
            // closed server serves it instead.
            return;
        }

        _reserveCheckPending = true;
        _ = OpenReserveAfterAsync(due > TimeSpan.Zero ? due : TimeSpan.Zero);
    }

    private async Task OpenReserveAfterAsync(TimeSpan due)
    {
        await Task.Delay(due);
        bool grow;
        lock (_lock)
        {
            _reserveCheckPending = false;
            grow = _waiters.Count > 0 && !_retired && TryGrow(GrowthLimit());
            if (!grow)
            {
                // Served meanwhile, or the reserve is in use: the next oldest waiter gets its own check.
                ScheduleReserveCheck(retryDue: false);
            }
        }

        if (grow)
        {
            _ = ConnectForWaitersAsync();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "could not open a warm server connection to {Server} for {Database}/{User}: {Reason}")]
    private static partial void LogWarmUpFailed(ILogger logger, string server, string database, string user, string reason);

    private sealed class Waiter
    {
        // Continuations run on the thread that completes it, outside the pool's lock: a server handed over by Release
        // goes straight on with the waiting client's transaction instead of hopping to the thread pool, which under
        // load (many clients, few servers) costs a context switch per transaction and queueing behind other work.
        public TaskCompletionSource<ServerConnection> Completion { get; } = new();

        public Waiter(long since)
        {
            Since = since;
        }

        public long Since { get; }

        public LinkedListNode<Waiter>? Node { get; set; }
    }
}
