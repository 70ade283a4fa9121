using Sluice.Protocol.Messages;
using Sluice.Proxy.Configuration;
using Sluice.Proxy.Failover;
using Sluice.Proxy.Pooling;
using Sluice.Proxy.Servers;
using Sluice.Proxy.Statements;
using Sluice.Routing.Classification;

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
    /// Pump, under the link lock, its server lost: whether the client stays (see the type's summary). If it does, the
    /// replies the server still owed are written to the client (flushed by <see cref="TellServerLostAsync"/>) as
    /// PostgreSQL fails statements: for each simple Query an ErrorResponse and a ReadyForQuery (in a block, the first
    /// gets 08006 and the rest 25P02); for an extended-protocol batch one ErrorResponse, and its ReadyForQuery at its
    /// Sync, which the client loop answers itself when it has not arrived yet. What the proxy injected is dropped; a
    /// lone DISCARD ALL is answered with success, its effect holding without the server. A reply the pump left
    /// half-forwarded cannot be finished, so that client is closed.
    /// </summary>
    private bool LeaveLossAftermathLocked(ServerLease lease, string reason)
    {
        if (!SurvivesServerLoss || lease.FromServer.InFrame)
        {
            return false;
        }

        var server = lease.Server;
        var inBlock = server.TransactionStatus != TransactionStatus.Idle;
        var status = inBlock ? TransactionStatus.Failed : TransactionStatus.Idle;
        var lost = ServerFailure.LostMessage(reason).Replace('\0', '?');
        var output = _client.Output;
        var told = false;
        var batchFailed = false;
        var reset = false;
        while (lease.Replies.TryPeek(out var reply))
        {
            lease.Replies.Dequeue();
            switch (reply.To)
            {
                case ReplyTo.Query when reply.Action == ReplyAction.Swallow:
                    // The proxy's own statement (startup settings put back after a reset): it stands or falls with that reset.
                    if (reset)
                    {
                        SettleSessionSettingsLocked(server, TransactionStatus.Idle);
                    }

                    break;
                case ReplyTo.Query when reply.Resets && !inBlock && !told:
                    MessageWriter.WriteCommandComplete(output, "DISCARD ALL");
                    MessageWriter.WriteReadyForQuery(output, TransactionStatus.Idle);
                    SettleSessionSettingsLocked(server, TransactionStatus.Idle);
                    reset = true;
                    break;
                case ReplyTo.Query or ReplyTo.Sync:
                    if (!batchFailed)
                    {
                        WriteLostStatementError(output, lost, aborted: inBlock && told);
                        told = true;
                    }

                    MessageWriter.WriteReadyForQuery(output, status);
                    batchFailed = false;
                    reset = false;
                    break;
                default:
                    if (!batchFailed)
                    {
                        WriteLostStatementError(output, lost, aborted: inBlock && told);
                        told = true;
                        batchFailed = true;
                    }

                    reset = false;
                    break;
            }
        }

        _lossAftermath = new LossAftermath(lease.Unsynced, inBlock, told, reason);
        return true;
    }

    /// <summary>Pump: sends what <see cref="LeaveLossAftermathLocked"/> wrote.</summary>
    private async Task TellServerLostAsync()
    {
        try
        {
            await _client.Output.FlushAsync();
        }
        catch (Exception ex) when (IsConnectionFailure(ex) || ex is InvalidOperationException)
        {
            CancelClosing();
        }
    }

    /// <summary>A simple Query of DISCARD ALL alone (see <see cref="PendingReply.Resets"/>).</summary>
    private static bool IsLoneDiscardAll(FrontendMessageCode code, in Inspection inspection) =>
        code == FrontendMessageCode.Query
        && inspection.Classification is { Statements.Count: 1, SessionSettings: [{ Kind: SessionSettingKind.DiscardAll }] };

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
