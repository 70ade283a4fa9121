using System.Diagnostics;
using Sluice.Protocol.Messages;

namespace Sluice.Proxy.Clients;

internal sealed partial class ClientSession
{
    /// <summary>
    /// How long a client that logged in but has not yet been lent a server may stay quiet during a drain before it is
    /// closed. Such a client (pgbench -C, an application opening a connection to use it at once) is about to send its
    /// first statement: closing it then would fail a transaction that has not even begun.
    /// </summary>
    private static readonly TimeSpan FirstStatementGrace = TimeSpan.FromSeconds(1);

    private volatile bool _shutdownRequested;

    // Set (under the link lock) the first time a server is lent to this client; the drain closes a client that was
    // never served only after FirstStatementGrace of quiet.
    private bool _servedOnce;

    public bool IsLinked
    {
        get
        {
            lock (_linkLock)
            {
                return _lease is not null;
            }
        }
    }

    /// <summary>
    /// Drain: a client between transactions is closed now with 57P01; one inside a transaction is closed when it
    /// ends (the pump checks after giving the server back); one that logged in but was never lent a server gets its
    /// first transaction unless it stays quiet for <see cref="FirstStatementGrace"/>. The drain calls this again
    /// while it waits, which is what closes such a client once it has been quiet long enough.
    /// </summary>
    public void RequestShutdown()
    {
        _shutdownRequested = true;
        bool idle;
        lock (_linkLock)
        {
            // Session mode holds its server between transactions: between transactions is what counts there too.
            idle = _lease is not { } lease
                ? _servedOnce || (!_waiting && Stopwatch.GetElapsedTime(_lastActivity) >= FirstStatementGrace)
                : Mode == Configuration.PoolMode.Session && lease.IsQuiet && lease.Server.TransactionStatus == Protocol.Messages.TransactionStatus.Idle;
        }

        if (idle)
        {
            CancelClosing();
        }
    }

    /// <summary>shutdown_timeout passed: close now, whatever runs (the server is cleaned before reuse).</summary>
    public void ForceShutdown()
    {
        _shutdownRequested = true;
        CancelClosing();
    }

    private void CancelClosing()
    {
        try
        {
            _closing.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private Task TellShutdownAsync() =>
        TryFailClientAsync(SqlState.AdminShutdown, _shutdownMessage ?? "terminating connection due to administrator command (the proxy is shutting down)");
}
