using System.Net.Sockets;
using Npgsql;

namespace Sluice.Proxy.Health;

/// <summary>
/// Checks one server of one database, over and over, on its own long-lived Npgsql connection (reopened after any
/// failure or a change of credentials), and reports each outcome to the <see cref="HealthMonitor"/>. A banned server
/// is left alone until its ban ends.
/// </summary>
internal sealed class ServerProbeLoop : IAsyncDisposable
{
    private readonly HealthMonitor _monitor;
    private readonly CancellationTokenSource _stop = new();
    private ProbeTarget _target;
    private NpgsqlConnection? _connection;
    private string? _connectionString;
    private Task _running = Task.CompletedTask;
    private TaskCompletionSource _soon = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _disposed;

    public ServerProbeLoop(HealthMonitor monitor, string database, string server, ProbeTarget target)
    {
        _monitor = monitor;
        Database = database;
        Server = server;
        _target = target;
    }

    public string Database { get; }

    public string Server { get; }

    /// <summary>Read at the start of every check, so a reload applies from the next one.</summary>
    public ProbeTarget Target
    {
        get => Volatile.Read(ref _target);
        set => Volatile.Write(ref _target, value);
    }

    public void Start() => _running = Task.Run(RunAsync);

    /// <summary>Cuts the wait before the next check short; a check under way is followed by another at once.</summary>
    public void CheckSoon() => Volatile.Read(ref _soon).TrySetResult();

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync();
        await _running;
        _stop.Dispose();
    }

    private async Task RunAsync()
    {
        var stopping = _stop.Token;
        var time = _monitor.Time;
        try
        {
            while (!stopping.IsCancellationRequested)
            {
                var target = Target;
                var bannedUntil = _monitor.Topology.Find(Database)?.Find(Server)?.BannedUntil;
                if (bannedUntil is { } until && until > time.GetUtcNow())
                {
                    await Task.Delay(until - time.GetUtcNow() is var left && left > TimeSpan.Zero ? left : TimeSpan.Zero, time, stopping);
                    continue;
                }

                // Requests made before this check is sent are answered by it; later ones get the next check at once.
                if (Volatile.Read(ref _soon).Task.IsCompleted)
                {
                    Volatile.Write(ref _soon, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
                }

                var soon = Volatile.Read(ref _soon).Task;
                var started = time.GetTimestamp();
                await CheckAsync(target, stopping);
                var rest = target.Interval - time.GetElapsedTime(started);
                if (rest > TimeSpan.Zero && !soon.IsCompleted)
                {
                    using var woken = CancellationTokenSource.CreateLinkedTokenSource(stopping);
                    var delay = Task.Delay(rest, time, woken.Token);
                    if (await Task.WhenAny(delay, soon) != delay)
                    {
                        await woken.CancelAsync();
                    }

                    stopping.ThrowIfCancellationRequested();
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
        finally
        {
            await CloseAsync();
        }
    }

    private async Task CheckAsync(ProbeTarget target, CancellationToken stopping)
    {
        if (target.ConnectionString is not { } connectionString)
        {
            _monitor.ReportUnmonitored(Database, Server);
            return;
        }

        var sentAt = _monitor.Time.GetUtcNow();
        var writesBefore = _monitor.Floors.Of(Database).Writes;

        // The deadline is kept here, not handed to Npgsql as a token: a check past it is abandoned and its connection
        // closed. Npgsql's own cancellation callback can throw when it races a connection still being opened, and a
        // callback that throws makes CancellationTokenSource.Cancel throw too - in the proxy's shutdown, or on the
        // timer thread of a CancelAfter. Npgsql's own Timeout and CommandTimeout stay as a backstop.
        var deadline = Task.Delay(target.Timeout, _monitor.Time, stopping);
        try
        {
            if (_connection is null || _connectionString != connectionString || _connection.FullState != System.Data.ConnectionState.Open)
            {
                await CloseAsync();
                _connection = new NpgsqlConnection(connectionString);
                _connectionString = connectionString;
                await WithinAsync(_connection.OpenAsync(CancellationToken.None), deadline);
            }

            var probe = await WithinAsync(ServerCheck.RunAsync(_connection, CancellationToken.None), deadline);
            _monitor.ReportCheck(Database, Server, probe, sentAt, writesBefore);
        }
        catch (Exception exception) when (!stopping.IsCancellationRequested)
        {
            // Whatever went wrong (a refused connection, a TLS handshake the server botched, garbage where a reply
            // should be) is this server's failed check; the loop itself must live on.
            await CloseAsync();
            var error = exception is TimeoutException ? $"no answer within {target.Timeout.TotalSeconds:0.###} s" : Describe(exception);
            _monitor.ReportFailure(Database, Server, error, target.Login);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Stopping while a check hangs: it is abandoned, not awaited.
            await CloseAsync();
            throw;
        }
    }

    /// <summary>
    /// The work's result, or a <see cref="TimeoutException"/> when the deadline passes first (an
    /// <see cref="OperationCanceledException"/> when the loop stops). Work left behind is observed, so that its failure
    /// once its connection is closed goes nowhere.
    /// </summary>
    private static async Task WithinAsync(Task work, Task deadline)
    {
        if (await Task.WhenAny(work, deadline) != work)
        {
            _ = work.ContinueWith(static abandoned => abandoned.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            await deadline;
            throw new TimeoutException();
        }

        await work;
    }

    private static async Task<T> WithinAsync<T>(Task<T> work, Task deadline)
    {
        await WithinAsync((Task)work, deadline);
        return await work;
    }

    /// <summary>The cause a person can act on: the server's own error, or the innermost network error.</summary>
    private static string Describe(Exception exception)
    {
        if (exception is PostgresException postgres)
        {
            return $"{postgres.SqlState}: {postgres.MessageText}";
        }

        var inner = exception;
        while (inner.InnerException is { } next && inner is not SocketException)
        {
            inner = next;
        }

        return inner.Message;
    }

    /// <summary>
    /// Closes the connection, waiting a moment at most: closing a connection to a server that stopped answering can
    /// hang in the driver, and the loop must go on (or stop) regardless. What does not finish in time finishes alone.
    /// </summary>
    private async ValueTask CloseAsync()
    {
        if (_connection is not { } connection)
        {
            return;
        }

        _connection = null;
        _connectionString = null;
        try
        {
            await DisposeQuietlyAsync(connection).WaitAsync(s_abandonAfter);
        }
        catch (TimeoutException)
        {
        }
    }

    /// <summary>How long closing a connection may take before it is left to finish alone.</summary>
    private static readonly TimeSpan s_abandonAfter = TimeSpan.FromSeconds(1);

    private static async Task DisposeQuietlyAsync(NpgsqlConnection connection)
    {
        try
        {
            await connection.DisposeAsync();
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            // Closing a connection that already broke: nothing left to release.
        }
    }
}
