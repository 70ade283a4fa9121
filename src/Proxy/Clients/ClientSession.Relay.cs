using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using Sluice.Protocol;
using Sluice.Protocol.Framing;
using Sluice.Protocol.Messages;
using Sluice.Routing.Classification;
using Sluice.Proxy.Configuration;
using Sluice.Proxy.Failover;
using Sluice.Proxy.Observability;
using Sluice.Proxy.Servers;
using Sluice.Proxy.Transport;

namespace Sluice.Proxy.Clients;

/// <summary>
/// The data path. Two loops per lent server: this client's loop copies its frames to the server; the pump copies the
/// server's frames to the client and gives the server back at the end of the transaction. Only whoever owns the link
/// writes to the client: the pump while a server is lent, the client loop otherwise. Everything that lives as long as
/// one lending is a <see cref="ServerLease"/>, made at checkout and ended at release; both loops move frames with the
/// one <see cref="FrameRelay"/>.
/// <para>
/// Still two loops, and a pump Task per lease: one loop per session reacting to both sides, or a long-lived read loop
/// per server connection, would save that Task and the hand-off between the two loops per transaction, but has not
/// been measured against this design yet (bench/RESULTS.md has the numbers of this one).
/// </para>
/// </summary>
internal sealed partial class ClientSession
{
    /// <summary>Messages read whole to be looked at (Query, Parse, ParameterStatus, ErrorResponse) are capped; larger ones are forwarded unread.</summary>
    private const int MaxInspectedLength = 1 << 20;

    private readonly Lock _linkLock = new();

    // Guarded by _linkLock: the current lending (null: no server lent), with everything in flight on it.
    private ServerLease? _lease;

    // Guarded by _linkLock: the lease the client loop is between writing to and its flush returning. A lease the pump
    // ends meanwhile (the server answered before FlushAsync finished its bookkeeping) is handed back by the client loop
    // after the flush, so no two sessions ever touch one PipeWriter.
    private ServerLease? _flushing;

    // The pump of the current or last lease: it owns the client's output until it ends (its last flush of a
    // ReadyForQuery may still run after its lease ended). Awaited before anything else writes to the client.
    private Task _pump = Task.CompletedTask;

    private volatile bool _waiting;

    // Where the client's stream of frames stands (a large message is forwarded in pieces as it arrives, a refused one
    // dropped); client loop only. And whether to drop up to the next Sync (after a refused batch).
    private FrameRelay _fromClient;
    private bool _discardUntilSync;

    private async Task RelayAsync()
    {
        var input = _client.Input;
        var token = _closing.Token;
        while (true)
        {
            var result = await input.ReadAsync(token);
            var buffer = result.Buffer;
            ServerLease? target = null;
            var terminate = false;
            var wakePump = false;
            _lastActivity = Stopwatch.GetTimestamp();
            if (!ReferenceEquals(_policy!.Source, _runtime.Config))
            {
                TakeReloadedPolicy();
            }

            try
            {
                while (true)
                {
                    if (_fromClient.IsForwarding)
                    {
                        // No server while a message continues: the pump lost it and has told the client (08006).
                        target ??= CurrentLease();
                        if (target is null || !ClaimForWrite(target))
                        {
                            throw new IOException("the server connection was lost in the middle of a message");
                        }
                    }

                    var status = _fromClient.Next(ref buffer, target?.Server.Connection.Output, out var header);
                    if (status == ReadStatus.NeedMoreData)
                    {
                        break;
                    }

                    if (status == ReadStatus.Invalid)
                    {
                        throw new ProtocolViolationException($"invalid message length {header.Length} for message type {FrameHeader.Describe(header.Code)}");
                    }

                    var code = (FrontendMessageCode)header.Code;
                    if (code == FrontendMessageCode.Terminate)
                    {
                        terminate = true;
                        buffer = buffer.Slice(Math.Min(buffer.Length, header.FrameLength));
                        break;
                    }

                    if (!IsValidFrontendCode(code))
                    {
                        throw new ProtocolViolationException($"invalid frontend message type {FrameHeader.Describe(header.Code)}");
                    }

                    if (_localExtended is not null && LocalExtendedCovers(code))
                    {
                        if (buffer.Length < header.FrameLength)
                        {
                            break;
                        }

                        await AnswerLocalExtendedAsync(code, buffer.Slice(FrameHeader.Size, header.PayloadLength), token);
                        buffer = buffer.Slice(header.FrameLength);
                        continue;
                    }

                    if (_discardUntilSync)
                    {
                        if (code == FrontendMessageCode.Sync)
                        {
                            _discardUntilSync = false;
                        }

                        // A lent server that was refused a message of this batch in its place skips to this Sync as
                        // well: it gets the Sync and answers it. Without a server, the proxy answers it.
                        if (_discardUntilSync || CurrentLease() is null)
                        {
                            if (code == FrontendMessageCode.Sync)
                            {
                                MessageWriter.WriteReadyForQuery(_client.Output, _refusedBlock);
                                await _client.Output.FlushAsync(token);
                            }

                            _fromClient.Skip(header.FrameLength);
                            continue;
                        }
                    }

                    // What must be looked at (SQL text, statement names) has to be here whole first.
                    var inspectStatus = TryInspect(code, header, buffer, out var inspection);
                    if (inspectStatus == ReadStatus.NeedMoreData)
                    {
                        break;
                    }

                    var lease = CurrentLease();
                    if (lease is null && _lossAftermath is not null && await TakeLossAftermathAsync())
                    {
                        // The pump lost the server this message was meant for: look at it again as what follows that.
                        continue;
                    }

                    if (lease is null && (inspection.LocalAnswer is not null || _refusedBlock != TransactionStatus.Idle))
                    {
                        if (target is not null)
                        {
                            await FlushToServerAsync(target, token);
                            target = null;
                        }

                        await _pump;
                        await AnswerLocallyAsync(code, inspection.LocalAnswer, pipelined: buffer.Length > header.FrameLength, token);
                        _fromClient.Skip(header.FrameLength);
                        continue;
                    }

                    if (lease is null && PlanReplyWithoutServer(code, inspection) is { } reply)
                    {
                        if (target is not null)
                        {
                            await FlushToServerAsync(target, token);
                            target = null;
                        }

                        await _pump;
                        WriteReplyWithoutServer(reply, inspection.Classification);
                        if (code is FrontendMessageCode.Sync or FrontendMessageCode.Flush)
                        {
                            await _client.Output.FlushAsync(token);
                        }

                        _fromClient.Skip(header.FrameLength);
                        continue;
                    }

                    if (lease is null)
                    {
                        if (target is not null)
                        {
                            // Frames already copied to the previous server go out before switching.
                            await FlushToServerAsync(target, token);
                            target = null;
                        }

                        var (attached, fatal) = await AttachAsync(inspection, buffer, token);
                        if (attached is null)
                        {
                            if (fatal)
                            {
                                terminate = true;
                                break;
                            }

                            // Refused with an ERROR (no primary): the rest of this extended-protocol batch is dropped up
                            // to its Sync, which gets the ReadyForQuery; a simple Query gets it now.
                            if (code == FrontendMessageCode.Query)
                            {
                                MessageWriter.WriteReadyForQuery(_client.Output, TransactionStatus.Idle);
                                await _client.Output.FlushAsync(token);
                            }
                            else
                            {
                                _discardUntilSync = true;
                            }

                            _fromClient.Skip(header.FrameLength);
                            continue;
                        }

                        lease = attached;
                    }

                    if (!TryNoteSent(lease, code))
                    {
                        // The pump gave the server back (its transaction ended) between the look above and this claim:
                        // this message starts the next transaction, on whichever server that gets.
                        continue;
                    }

                    target = lease;
                    if (Forward(lease, code, header, ref buffer, inspection))
                    {
                        wakePump = true;
                    }
                }
            }
            finally
            {
                input.AdvanceTo(buffer.Start, buffer.End);
                RecordReceived(result.Buffer.Length - buffer.Length);
            }

            if (target is not null)
            {
                await FlushToServerAsync(target, token);
                if (wakePump)
                {
                    WakePump(target);
                }
            }

            if (terminate)
            {
                _closeReason = "client sent Terminate";
                return;
            }

            if (result.IsCompleted)
            {
                _closeReason = "client closed the connection";
                return;
            }
        }
    }

    /// <summary>
    /// A reload happened: its rules apply from this client's next transaction. While one runs (a statement or a
    /// ReadyForQuery still due, or the server inside a block), the rules it started with stay. Client loop only.
    /// </summary>
    private void TakeReloadedPolicy()
    {
        lock (_linkLock)
        {
            if (_lease is not { } lease || (lease.TransactionStart == 0 && lease.IsQuiet))
            {
                _policy = _policy!.ForNextTransaction(_runtime.Config, _userName);
            }
        }
    }

    private static bool IsValidFrontendCode(FrontendMessageCode code) => code is FrontendMessageCode.Bind or FrontendMessageCode.Close
        or FrontendMessageCode.CopyData or FrontendMessageCode.CopyDone or FrontendMessageCode.CopyFail or FrontendMessageCode.Describe
        or FrontendMessageCode.Execute or FrontendMessageCode.Flush or FrontendMessageCode.FunctionCall or FrontendMessageCode.Parse
        or FrontendMessageCode.Query or FrontendMessageCode.Sync;

    private ServerLease? CurrentLease()
    {
        lock (_linkLock)
        {
            return _lease;
        }
    }

    /// <summary>
    /// Claims the lent server for writing until the next flush (the pump then hands it back only through the client loop)
    /// and records what the message will make the server answer, before the server can answer it. False when the server
    /// is no longer this client's: the pump gave it back at the end of the transaction a moment ago.
    /// </summary>
    private bool TryNoteSent(ServerLease lease, FrontendMessageCode code)
    {
        lock (_linkLock)
        {
            if (_lease != lease)
            {
                return false;
            }

            _flushing = lease;
            if (lease.PendingReady == 0 && !lease.Unsynced)
            {
                lease.StatementCancelSent = false;
                lease.QueryStart = Stopwatch.GetTimestamp();
                if (lease.TransactionStart == 0)
                {
                    lease.TransactionStart = lease.QueryStart;
                }
            }

            switch (code)
            {
                case FrontendMessageCode.Query:
                case FrontendMessageCode.FunctionCall:
                    lease.PendingReady++;
                    break;
                case FrontendMessageCode.Sync:
                    lease.PendingReady++;
                    lease.Unsynced = false;
                    break;
                case FrontendMessageCode.CopyData:
                case FrontendMessageCode.CopyDone:
                case FrontendMessageCode.CopyFail:
                    break;
                default:
                    lease.Unsynced = true;
                    break;
            }

            return true;
        }
    }

    /// <summary>Claims the lent server for writing the rest of a message already started on it; false when it was lost.</summary>
    private bool ClaimForWrite(ServerLease lease)
    {
        lock (_linkLock)
        {
            if (_lease != lease)
            {
                return false;
            }

            _flushing = lease;
            return true;
        }
    }

    private async Task FlushToServerAsync(ServerLease lease, CancellationToken token)
    {
        try
        {
            await lease.Server.Connection.Output.FlushAsync(token);
        }
        catch (Exception ex) when (IsConnectionFailure(ex))
        {
            // The pump sees the same failure on its side and tells the client; wait for it to finish doing so.
            lease.Server.MarkBroken();
            if (EndClientWrite() is { } orphan)
            {
                orphan.Server.Pool!.Discard(orphan.Server);
            }

            await _pump;
            if (!SurvivesServerLoss)
            {
                throw;
            }

            return;
        }

        if (EndClientWrite() is { } giveBack)
        {
            giveBack.Server.Pool!.Release(giveBack.Server);
        }
    }

    /// <summary>The client loop's flush returned: the lease it wrote to, when it ended meanwhile and is this loop's to hand back.</summary>
    private ServerLease? EndClientWrite()
    {
        lock (_linkLock)
        {
            return TakeFlushingLocked();
        }
    }

    private ServerLease? TakeFlushingLocked()
    {
        var flushed = _flushing;
        _flushing = null;
        if (flushed is not { HandBackAfterFlush: true })
        {
            return null;
        }

        flushed.HandBackAfterFlush = false;
        return flushed;
    }

    /// <summary>Makes the lent server's session settings this client's before its first message runs there.</summary>
    private async Task SyncParametersAsync(ServerConnection server, CancellationToken token)
    {
        _settingsJournal.Clear();
        var sql = _parameters.BuildSyncSql(server.ReportedParameters, server.UnreportedSettings);
        if (sql is null)
        {
            return;
        }

        var changes = _parameters.Differences(server.ReportedParameters, server.UnreportedSettings).ToList();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(token);
        timeout.CancelAfter(server.Pool?.Settings.ConnectTimeout ?? TimeSpan.FromSeconds(15));
        ErrorFields? error;
        try
        {
            error = await server.RunControlQueryAsync(sql, timeout.Token);
        }
        catch (OperationCanceledException) when (!token.IsCancellationRequested)
        {
            throw new IOException("the server did not answer the session settings in time");
        }

        if (error is not null)
        {
            throw new ServerConnectException($"could not apply session settings: {error.Message}", error);
        }

        foreach (var name in server.UnreportedSettings.Keys.Where(name => !_parameters.TryGet(name, out _)).ToList())
        {
            server.UnreportedSettings.Remove(name);
        }

        foreach (var (name, value) in changes)
        {
            if (server.ReportedParameters.TryGetValue(name, out var canonical))
            {
                // The server reports its own spelling (UTF8 for utf8): remember that, or every lending would SET again.
                _parameters.Set(name, canonical);
            }
            else
            {
                server.UnreportedSettings[name] = value;
            }
        }
    }

    /// <summary>The pump, with a last line of defence: a bug in it ends this client's session (08006), never leaves it waiting.</summary>
    private async Task PumpAsync(ServerLease lease)
    {
        try
        {
            await PumpCoreAsync(lease);
        }
        catch (Exception ex)
        {
            LogPumpFailed(_logger, RemoteAddress, ex);
            bool stillLent;
            lock (_linkLock)
            {
                stillLent = _lease == lease;
            }

            if (stillLent)
            {
                await ServerLostAsync(lease, "internal error in the proxy");
            }
            else
            {
                // Already given back: the server is someone else's now; only this client's session ends.
                _closeReason = "internal error";
                CancelClosing();
            }
        }
    }

    /// <summary>Server → client. Ends when the transaction ends (transaction mode), when asked to stop, or on failure.</summary>
    private async Task PumpCoreAsync(ServerLease lease)
    {
        var server = lease.Server;
        var input = server.Connection.Input;
        var output = _client.Output;
        while (true)
        {
            ReadResult result;
            try
            {
                result = await input.ReadAsync();
            }
            catch (Exception ex) when (IsConnectionFailure(ex) || ex is InvalidOperationException)
            {
                await ServerLostAsync(lease, ex.Message, connectionLost: true);
                return;
            }

            var buffer = result.Buffer;
            if (result.IsCanceled)
            {
                input.AdvanceTo(buffer.Start);
                lock (_linkLock)
                {
                    if (lease.StopPump)
                    {
                        return;
                    }
                }

                // Woken by the client loop: made-up replies are due with no server message to carry them.
                if (!lease.FromServer.InFrame && Renaming)
                {
                    WriteDueFakes(lease, output);
                    try
                    {
                        await output.FlushAsync();
                    }
                    catch (Exception ex) when (IsConnectionFailure(ex) || ex is InvalidOperationException)
                    {
                        CancelClosing();
                        return;
                    }
                }

                continue;
            }

            var release = false;
            try
            {
                release = ForwardServerFrames(lease, ref buffer, output);
            }
            catch (ProtocolViolationException ex)
            {
                input.AdvanceTo(buffer.Start);
                await ServerLostAsync(lease, "server sent an invalid message: " + ex.Message);
                return;
            }

            input.AdvanceTo(buffer.Start, buffer.End);
            RecordSent(result.Buffer.Length - buffer.Length);
            if (release)
            {
                // Only now, with the pump done with the server's input, may anyone else read it. While the client loop
                // is between a write and its flush, the server goes back through the client loop after that flush, so
                // no two sessions ever touch one PipeWriter either.
                bool handBack;
                lock (_linkLock)
                {
                    handBack = _flushing != lease;
                    lease.HandBackAfterFlush = !handBack;
                }

                if (handBack)
                {
                    server.Pool!.Release(server);
                }
            }

            try
            {
                await output.FlushAsync();
            }
            catch (Exception ex) when (IsConnectionFailure(ex) || ex is InvalidOperationException)
            {
                // The client is gone. Its loop sees that too and cleans the server in CloseAsync.
                CancelClosing();
                return;
            }

            if (release)
            {
                if (_shutdownRequested)
                {
                    CancelClosing();
                }

                return;
            }

            if (_shutdownRequested && Mode == PoolMode.Session && server.TransactionStatus == TransactionStatus.Idle && lease.PendingReady <= 0)
            {
                // Draining: a session-mode client is closed once its transaction is over.
                CancelClosing();
            }

            if (result.IsCompleted)
            {
                await ServerLostAsync(lease, "the server closed the connection", connectionLost: true);
                return;
            }
        }
    }

    /// <summary>Copies whole and partial frames to the client; true when the server was just given back.</summary>
    private bool ForwardServerFrames(ServerLease lease, ref ReadOnlySequence<byte> buffer, PipeWriter output)
    {
        var server = lease.Server;
        ref var relay = ref lease.FromServer;
        while (true)
        {
            var status = relay.Next(ref buffer, output, out var header);
            if (status == ReadStatus.NeedMoreData)
            {
                return false;
            }

            if (status == ReadStatus.Invalid)
            {
                throw new ProtocolViolationException($"invalid message length {header.Length}");
            }

            var code = (BackendMessageCode)header.Code;
            // Descriptions are read whole only while something unusual is owed: a Describe whose answer the proxy learns.
            var inspect = (code is BackendMessageCode.ReadyForQuery or BackendMessageCode.ParameterStatus or BackendMessageCode.ErrorResponse
                    || (code is BackendMessageCode.ParameterDescription or BackendMessageCode.RowDescription or BackendMessageCode.NoData && !lease.Replies.AllForwarded))
                && header.FrameLength <= MaxInspectedLength;
            if (inspect && buffer.Length < header.FrameLength)
            {
                return false;
            }

            // False for replies to what the proxy injected itself: they are read, and counted, but not forwarded.
            var forward = TakeReply(lease, code, output, inspect ? buffer.Slice(0, header.FrameLength) : default);
            if (!inspect)
            {
                Relay(ref relay, forward, header.FrameLength);
                continue;
            }

            var frame = buffer.Slice(0, header.FrameLength);
            var payload = frame.Slice(FrameHeader.Size);
            var releaseNow = false;
            switch (code)
            {
                case BackendMessageCode.ReadyForQuery:
                    var transactionStatus = BackendMessageReader.ReadReadyForQuery(payload);
                    server.TransactionStatus = transactionStatus;
                    lock (_linkLock)
                    {
                        lease.PendingReady--;
                        SettleSessionSettingsLocked(server, transactionStatus);
                        SettleSchemaChange(lease, transactionStatus);
                        RecordReadyForQuery(lease, transactionStatus);
                        _lastActivity = Stopwatch.GetTimestamp();

                        if (transactionStatus == TransactionStatus.Idle && lease.IsQuiet && Mode != PoolMode.Session && !_pinned)
                        {
                            _lease = null;
                            lease.End();
                            releaseNow = true;
                        }
                    }

                    break;
                case BackendMessageCode.ParameterStatus:
                    var (name, value) = BackendMessageReader.ReadParameterStatus(payload);
                    server.ReportedParameters[name] = value;
                    _parameters.Set(name, value);
                    break;
                case BackendMessageCode.ErrorResponse:
                    var error = BackendMessageReader.ReadErrorFields(payload);
                    _settingsJournal.NoteError();
                    _runtime.Metrics.Error(_databaseName, error.SqlState);
                    if (error.IsFatal)
                    {
                        server.MarkBroken();
                        if (SurvivesServerLoss)
                        {
                            // The server closes next: its words go to the client in the ERROR ServerLostAsync writes.
                            lease.ServerFatal = error;
                            forward = false;
                        }
                    }

                    if (forward && Renaming && ForwardStatementError(lease, error, payload, output))
                    {
                        forward = false;
                    }

                    break;
            }

            Relay(ref relay, forward, header.FrameLength);
            relay.Move(ref buffer, output);
            if (releaseNow)
            {
                return true;
            }
        }
    }

    private static void Relay(ref FrameRelay relay, bool forward, long length)
    {
        if (forward)
        {
            relay.Forward(length);
        }
        else
        {
            relay.Skip(length);
        }
    }

    /// <summary>A query ended (and with status Idle, a transaction). Called under _linkLock.</summary>
    private void RecordReadyForQuery(ServerLease lease, TransactionStatus status)
    {
        if (lease.QueryStart != 0)
        {
            _stats!.AddQuery(lease.QueryStart);
            var elapsed = Stopwatch.GetElapsedTime(lease.QueryStart);
            _runtime.Metrics.QueryCompleted(_databaseName, lease.Route, elapsed.TotalSeconds);
            var slow = _policy!.SlowStatementLog;
            if (slow > TimeSpan.Zero && elapsed > slow)
            {
                LogSlowStatement(_logger, _userName, _databaseName, RemoteAddress, elapsed.TotalMilliseconds, SqlRedaction.RedactLiterals(_lastStatementText ?? "(unknown)"));
            }
        }

        lease.QueryStart = lease.PendingReady > 0 ? Stopwatch.GetTimestamp() : 0;
        if (status == TransactionStatus.Idle)
        {
            NoteTransactionEndLocked();
        }

        if (status == TransactionStatus.Idle && lease.TransactionStart != 0)
        {
            _stats!.AddTransaction(lease.TransactionStart);
            _runtime.Metrics.TransactionCompleted(_databaseName, lease.Route);
            lease.TransactionStart = 0;
        }
    }

    private void RecordReceived(long bytes)
    {
        if (bytes > 0 && _stats is not null)
        {
            _stats.AddReceived(bytes);
            _runtime.Metrics.BytesTransferred(TrafficDirection.ClientToServer, bytes);
        }
    }

    private void RecordSent(long bytes)
    {
        if (bytes > 0)
        {
            _stats!.AddSent(bytes);
            _runtime.Metrics.BytesTransferred(TrafficDirection.ServerToClient, bytes);
        }
    }

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
