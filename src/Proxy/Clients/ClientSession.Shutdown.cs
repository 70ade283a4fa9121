using Sluice.Protocol.Messages;

namespace Sluice.Proxy.Clients;

internal sealed partial class ClientSession
{
    private volatile bool _shutdownRequested;

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
    /// ends (the pump checks after giving the server back).
    /// </summary>
    public void RequestShutdown()
    {
        _shutdownRequested = true;
        bool idle;
        lock (_linkLock)
        {
            // Session mode holds its server between transactions: between transactions is what counts there too.
            idle = _lease is not { } lease
                || (Mode == Configuration.PoolMode.Session && lease.IsQuiet && lease.Server.TransactionStatus == Protocol.Messages.TransactionStatus.Idle);
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
