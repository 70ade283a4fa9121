using Sluice.Protocol.Messages;
using Sluice.Proxy.Configuration;
using Sluice.Proxy.Failover;
using Sluice.Proxy.Pooling;
using Sluice.Proxy.Servers;

namespace Sluice.Proxy.Clients;

/// <summary>
/// What the client loop must do once the pump has lost its server: skip to the client's Sync (an extended-protocol
/// batch was cut short), and whether the client's transaction block went with the server (Told: the client already
/// got an error for it).
/// </summary>
internal sealed record LossAftermath(bool DiscardUntilSync, bool BlockLost, bool Told, string Reason);

/// <summary>
/// A lost server, as the client sees it. In transaction and statement mode the client's session lives in the proxy,
/// so it outlives its server: the statement in flight gets an ERROR 08006 that keeps the server's own words (57P01
/// "terminating connection due to administrator command"), a transaction block that was open is answered as
/// PostgreSQL answers an aborted one (25P02 until ROLLBACK, which the proxy answers itself), and the next transaction
/// runs on whichever server is the primary then. Nothing that reached the lost server is sent again. In session mode,
/// and for a client pinned to its server, the session was the server's: it ends with it, with a FATAL, as before.
/// </summary>
internal sealed partial class ClientSession
{
    private const string AbortedBlockMessage =
        "current transaction is aborted, commands ignored until end of transaction block (its server connection was lost)";

    private static readonly LocalAnswer LostBlockAborted = new(null, SqlState.InFailedSqlTransaction, AbortedBlockMessage, Block: BlockEffect.Refuse);

    // Link lock: left by the pump, with _lease = null, when it lost its server and the client stays; the client loop
    // takes it before it looks for a server for the next message.
    private LossAftermath? _lossAftermath;

    // Client loop: why the transaction block the client is in was lost (null: it is not in a lost one), and whether it
    // has not been told yet (it was idle inside the block when the server went).
    private string? _lostBlockReason;
    private bool _lostBlockUntold;

    /// <summary>Transaction and statement modes keep the client when its server is lost; session mode and pinned clients do not.</summary>
    private bool SurvivesServerLoss => Mode != PoolMode.Session && !_pinned;

    /// <summary>What a statement in the refused block gets: statement mode's 0A000, or for a lost block 08006 once, then 25P02.</summary>
    private LocalAnswer CurrentBlockRefusal => _lostBlockReason is not { } reason
        ? BlockRefusal
        : _lostBlockUntold
            ? new LocalAnswer(null, SqlState.ConnectionFailure, LostBlockMessage(reason), Block: BlockEffect.Refuse)
            : LostBlockAborted;

    private static string LostBlockMessage(string reason) =>
        ServerFailure.LostMessage(reason) + "; the transaction block was rolled back";

    /// <summary>
    /// COMMIT of a lost block the client was not told about: an error, and the block is over. (ROLLBACK, or COMMIT once
    /// the client got its error, is answered as PostgreSQL answers it in an aborted block.)
    /// </summary>
    private LocalAnswer? LostBlockCommit(bool commit) =>
        commit && _lostBlockUntold && _lostBlockReason is { } reason
            ? new LocalAnswer(null, SqlState.ConnectionFailure, LostBlockMessage(reason), Block: BlockEffect.End)
            : null;

    /// <summary>The client heard of its lost block (an error was written), or the block ended.</summary>
    private void NoteBlockRefused(bool ended)
    {
        _lostBlockUntold = false;
        if (ended)
        {
            _lostBlockReason = null;
        }
    }

    /// <summary>
    /// Client loop, having found no server lent: applies what the pump left when it lost one. True when there was
    /// something; the message is then looked at again under the new state, once the pump has finished telling the client.
    /// </summary>
    private async ValueTask<bool> TakeLossAftermathAsync()
    {
        LossAftermath? aftermath;
        lock (_linkLock)
        {
            aftermath = _lossAftermath;
            _lossAftermath = null;
        }

        if (aftermath is null)
        {
            return false;
        }

        await _pump;
        _discardUntilSync |= aftermath.DiscardUntilSync;
        if (aftermath.BlockLost)
        {
            _refusedBlock = TransactionStatus.Failed;
            _lostBlockReason = aftermath.Reason;
            _lostBlockUntold = !aftermath.Told;
        }

        return true;
    }

    /// <summary>
    /// Pump, under the link lock, its server lost: whether the client stays (see the type's summary), and if so what the
    /// client loop must do next. A reply the pump left half-forwarded cannot be finished, so that client is closed.
    /// </summary>
    private bool LeaveLossAftermathLocked(ServerLease lease, string reason)
    {
        if (!SurvivesServerLoss || lease.FromServer.InFrame)
        {
            return false;
        }

        var inBlock = lease.Server.TransactionStatus != TransactionStatus.Idle;
        _lossAftermath = new LossAftermath(lease.Unsynced, inBlock, lease.PendingReady > 0 || lease.Unsynced, reason);
        return true;
    }

    /// <summary>
    /// Pump: the client's statements in flight on the lost server fail as PostgreSQL fails them: an ErrorResponse and a
    /// ReadyForQuery for each one owed (in a block, the first gets 08006 and the rest 25P02); a batch without its Sync
    /// yet gets its error now and its ReadyForQuery at the Sync.
    /// </summary>
    private async Task TellServerLostAsync(ServerLease lease, string reason)
    {
        int pendingReady;
        bool unsynced;
        lock (_linkLock)
        {
            pendingReady = lease.PendingReady;
            unsynced = lease.Unsynced;
        }

        var inBlock = lease.Server.TransactionStatus != TransactionStatus.Idle;
        var status = inBlock ? TransactionStatus.Failed : TransactionStatus.Idle;
        var lost = ServerFailure.LostMessage(reason).Replace('\0', '?');
        var output = _client.Output;
        var errors = 0;
        for (var i = 0; i < pendingReady; i++, errors++)
        {
            WriteLostStatementError(output, lost, aborted: inBlock && errors > 0);
            MessageWriter.WriteReadyForQuery(output, status);
        }

        if (unsynced)
        {
            WriteLostStatementError(output, lost, aborted: inBlock && errors > 0);
        }

        try
        {
            await output.FlushAsync();
        }
        catch (Exception ex) when (IsConnectionFailure(ex) || ex is InvalidOperationException)
        {
            CancelClosing();
        }
    }

    private static void WriteLostStatementError(System.IO.Pipelines.PipeWriter output, string lost, bool aborted)
    {
        if (aborted)
        {
            MessageWriter.WriteErrorResponse(output, "ERROR", SqlState.InFailedSqlTransaction, AbortedBlockMessage);
        }
        else
        {
            MessageWriter.WriteErrorResponse(output, "ERROR", SqlState.ConnectionFailure, lost);
        }
    }

    /// <summary>
    /// A checkout's login (or its session settings) failed. When a failover explains it, the server is suspected and
    /// true is returned while routing.failover_wait allows another try, on whichever server is the primary then.
    /// </summary>
    private async ValueTask<bool> RetryLoginAsync(ServerPool pool, ServerConnectException exception, FailoverBudget failover, CancellationToken token)
    {
        if (!ServerFailure.IsRetryableLogin(exception))
        {
            return false;
        }

        LogLoginRetried(_logger, pool.Target.ServerName, _userName, _databaseName, exception.ServerError?.Message ?? exception.Message);
        return await _runtime.Failover.LoginFailedAsync(_databaseName, pool.Target.ServerName, exception.ServerError?.Message ?? exception.Message, failover, token);
    }

    /// <summary>
    /// No server could be had for the transaction (its login kept failing). The client gets an ERROR and keeps its
    /// connection; in session mode there is no session without a server, so it gets a FATAL. True when it is closed.
    /// </summary>
    private async ValueTask<bool> RefuseCheckoutAsync(string sqlState, string message, string closeReason, CancellationToken token)
    {
        if (Mode == PoolMode.Session)
        {
            _closeReason = closeReason;
            await TryFailClientAsync(sqlState, message);
            return true;
        }

        LogNoServer(_logger, _userName, _databaseName, message);
        var code = ServerFailure.MeansServerGoingAway(sqlState) ? SqlState.ConnectionFailure : sqlState;
        MessageWriter.WriteErrorResponse(_client.Output, "ERROR", code, message.Replace('\0', '?'));
        await _client.Output.FlushAsync(token);
        return false;
    }
}
