using Sluice.Protocol;
using Sluice.Protocol.Messages;
using Sluice.Proxy.Configuration;
using Sluice.Proxy.Failover;
using Sluice.Proxy.Servers;

namespace Sluice.Proxy.Clients;

/// <summary>
/// A lease that ends other than by a finished transaction: the server lost under it, the pump stopped at the end of
/// the session, and the server cleaned (or closed) and given back.
/// </summary>
internal sealed partial class ClientSession
{
    /// <summary>
    /// The lent server broke: it is discarded, and the client is told (08006, keeping the server's own FATAL text). In
    /// transaction and statement mode the client stays (<see cref="TellServerLostAsync"/>); otherwise it is closed. A
    /// connection error or 57P01/57P02/57P03 (<paramref name="connectionLost"/>) has the server checked at once.
    /// </summary>
    private async Task ServerLostAsync(ServerLease lease, string reason, bool connectionLost = false)
    {
        var server = lease.Server;
        if (lease.ServerFatal is { } fatal)
        {
            reason = fatal.Message;
            connectionLost = ServerFailure.MeansServerGoingAway(fatal.SqlState);
        }

        bool clientWriting;
        bool keepClient;
        lock (_linkLock)
        {
            var current = _lease == lease;
            if (current)
            {
                _lease = null;
                lease.End();
            }

            // While the client loop is inside a write or flush to this server, closing it here would complete its
            // PipeWriter under that flush (segments returned to the pool twice). The client loop discards it after.
            server.MarkBroken();
            clientWriting = _flushing == lease;
            lease.HandBackAfterFlush = clientWriting;
            keepClient = current && LeaveLossAftermathLocked(lease, reason);
        }

        if (!clientWriting)
        {
            server.Pool!.Discard(server);
        }

        LogServerLost(_logger, server.Target.ServerName, _userName, _databaseName, reason);
        if (connectionLost)
        {
            _runtime.Failover.ServerLost(_databaseName, server.Target.ServerName, reason);
        }

        if (keepClient)
        {
            await TellServerLostAsync();
            return;
        }

        _closeReason = "server connection lost";
        await TryFailClientAsync(SqlState.ConnectionFailure, ServerFailure.LostMessage(reason));
        CancelClosing();
    }

    /// <summary>
    /// Stops the pump where it is (its lease records how much of a frame it left unsent) and waits until it has. Returns
    /// the lease that was running, if any.
    /// </summary>
    private async Task<ServerLease?> StopPumpAsync()
    {
        ServerLease? lease;
        lock (_linkLock)
        {
            lease = _lease;
            if (lease is not null)
            {
                lease.StopPump = true;
            }
        }

        if (!_pump.IsCompleted)
        {
            lease?.Server.Connection.Input.CancelPendingRead();
        }

        await _pump;
        return lease;
    }

    /// <summary>
    /// At the end of the session, once <see cref="StopPumpAsync"/> has stopped the pump: finishes or rolls back whatever
    /// the client left running, runs the reset query in session mode, and gives the server back — or closes it when it
    /// cannot be made clean.
    /// </summary>
    private async Task ReturnServerAsync()
    {
        ServerLease? lease;
        ServerLease? orphan;
        lock (_linkLock)
        {
            lease = _lease;
            _lease = null;
            lease?.End();
            orphan = TakeFlushingLocked();
        }

        if (orphan is not null)
        {
            // The client loop ended inside a flush: whatever state that server is in, nobody can vouch for it.
            orphan.Server.Pool!.Discard(orphan.Server);
        }

        if (lease is null)
        {
            return;
        }

        // The pump has stopped and the client loop has ended: what is left of the lease is this method's.
        var server = lease.Server;
        var pendingReady = lease.PendingReady;
        var unsynced = lease.Unsynced;

        var pool = server.Pool!;
        if (server.IsBroken || _fromClient.IsForwarding)
        {
            // Half a message went to the server: no way to finish it cleanly.
            pool.Discard(server);
            return;
        }

        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            if (pendingReady > 0 || unsynced || lease.FromServer.InFrame)
            {
                await server.SendCancelAsync(timeout.Token);
                if (unsynced)
                {
                    MessageWriter.WriteSync(server.Connection.Output);
                    await server.Connection.Output.FlushAsync(timeout.Token);
                    pendingReady++;
                }

                await server.DrainAsync(lease.FromServer, pendingReady, timeout.Token);
            }

            if (server.TransactionStatus != TransactionStatus.Idle)
            {
                await server.RunControlQueryAsync("ROLLBACK", timeout.Token);
            }

            AbandonSessionSettings(server);

            if ((Mode == PoolMode.Session || _pinned) && pool.Settings.ResetQuery is { Length: > 0 } reset)
            {
                // The client may have left session state behind (settings, LISTEN, temp tables, statements).
                await server.RunControlQueryAsync(reset, timeout.Token);
                server.UnreportedSettings.Clear();
                server.Statements.Clear();
            }

            pool.Release(server);
        }
        catch (Exception ex) when (IsConnectionFailure(ex) || ex is OperationCanceledException or ServerConnectException or ProtocolViolationException)
        {
            server.MarkBroken();
            pool.Discard(server);
        }
    }
}
