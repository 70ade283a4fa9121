using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Sluice.Proxy.Servers;

namespace Sluice.Proxy.Pooling;

/// <summary>
/// The server connections of one (database, user, server). Size is a hard bound; clients that find none free wait in
/// FIFO order up to checkout_timeout. Idle connections are kept LIFO so the warmest is reused first and the coldest
/// ages out under server_idle_timeout.
/// </summary>
internal sealed partial class ServerPool
{
    private readonly Lock _lock = new();
    private readonly List<ServerConnection> _idle = [];
    private readonly LinkedList<Waiter> _waiters = new();
    private readonly ILogger _logger;
    private int _total;
    private int _connecting;
    private bool _retired;
    private long _checkoutCount;

    // Admin console: non-null while PAUSE holds new transactions (completed by RESUME); servers made at or before
    // _reconnectBefore are closed instead of reused (RECONNECT, KILL).
    private TaskCompletionSource? _resumed;
    private long _reconnectBefore = long.MinValue;
    private IReadOnlyDictionary<string, string>? _serverParameters;

    public ServerPool(string database, string user, ServerLoginTarget target, PoolSettings settings, ILogger logger)
    {
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

    /// <summary>Lends a server connection; throws <see cref="PoolTimeoutException"/> after checkout_timeout.</summary>
    public ValueTask<ServerConnection> CheckoutAsync(CancellationToken cancellationToken)
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

                _total--;
                _ = candidate.DisposeAsync();
            }

            if (_total < Settings.Size && _waiters.Count == 0)
            {
                _total++;
                _connecting++;
            }
            else
            {
                waiter = new Waiter();
                waiter.Node = _waiters.AddLast(waiter);
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
            || (Settings.Lifetime > TimeSpan.Zero && Stopwatch.GetElapsedTime(server.CreatedAt) > Settings.Lifetime))
        {
            Discard(server);
            return;
        }


        lock (_lock)
        {
            if (_total > Settings.Size)
            {
                // Shrunk by a reload: let the surplus go as it comes back.
                _total--;
                _ = server.CloseAsync();
                return;
            }

            while (_waiters.First is { } first)
            {
                _waiters.RemoveFirst();
                first.Value.Node = null;
                if (first.Value.Completion.TrySetResult(server))
                {
                    Interlocked.Increment(ref _checkoutCount);
                    return;
                }
            }

            if (_resumed is not null)
            {
                // Paused: no idle servers are kept, so the servers can be restarted behind the proxy.
                _total--;
                _ = server.CloseAsync();
                return;
            }

            _idle.Add(server);
        }
    }

    /// <summary>Closes a server that cannot be reused and, if clients wait, opens a replacement for them.</summary>
    public void Discard(ServerConnection server)
    {
        bool grow;
        lock (_lock)
        {
            _total--;
            grow = _waiters.Count > 0 && _total < Settings.Size && !_retired;
            if (grow)
            {
                _total++;
                _connecting++;
            }
        }

        _ = server.CloseAsync();
        if (grow)
        {
            _ = ConnectForWaitersAsync();
        }
    }

    /// <summary>
    /// Closes idle servers past server_idle_timeout or server_lifetime (keeping min_size) and opens servers up to
    /// min_size. Called periodically by the pool registry.
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

            _total -= expired?.Count ?? 0;
            missing = _retired || _resumed is not null ? 0 : Math.Max(0, Math.Min(settings.MinSize, settings.Size) - _total);
            _total += missing;
            _connecting += missing;
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
                    _total--;
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
            _total -= _idle.Count;
            _idle.Clear();
        }

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
            _total -= _idle.Count;
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
                _total--;
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
                _total--;
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
            timeoutSource.CancelAfter(timeout);
        }

        using (timeoutSource.Token.Register(static state => ((Waiter)state!).Completion.TrySetCanceled(), waiter))
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "could not open a warm server connection to {Server} for {Database}/{User}: {Reason}")]
    private static partial void LogWarmUpFailed(ILogger logger, string server, string database, string user, string reason);

    private sealed class Waiter
    {
        public TaskCompletionSource<ServerConnection> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public long Since { get; } = Stopwatch.GetTimestamp();

        public LinkedListNode<Waiter>? Node { get; set; }
    }
}
