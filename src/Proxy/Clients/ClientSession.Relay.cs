using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using Sluice.Protocol;
using Sluice.Protocol.Framing;
using Sluice.Protocol.Messages;
using Sluice.Proxy.Configuration;
using Sluice.Proxy.Observability;
using Sluice.Proxy.Pooling;
using Sluice.Proxy.Servers;
using Sluice.Proxy.Transport;

namespace Sluice.Proxy.Clients;

/// <summary>
/// The data path. Two loops per lent server: this client's loop copies its frames to the server; the pump copies the
/// server's frames to the client and gives the server back at the end of the transaction. Only whoever owns the link
/// writes to the client: the pump while a server is lent, the client loop otherwise.
/// </summary>
internal sealed partial class ClientSession
{
    /// <summary>Messages read whole to be looked at (Query, Parse, ParameterStatus, ErrorResponse) are capped; larger ones are forwarded unread.</summary>
    private const int MaxInspectedLength = 1 << 20;

    private readonly Lock _linkLock = new();

    // Guarded by _linkLock: the lent server and what is in flight on it.
    private ServerConnection? _server;
    private int _pendingReady;
    private bool _unsynced;
    private bool _stopPump;

    // The client loop is between writing to the lent server and its flush returning. A server the pump gives up
    // meanwhile (the server answered before FlushAsync finished its bookkeeping) is handed back by the client loop
    // after the flush, so no two sessions ever touch one PipeWriter.
    private bool _clientWriting;
    private ServerConnection? _returnAfterFlush;

    private Task _pump = Task.CompletedTask;

    // Timing for SHOW STATS and the duration histogram; written under _linkLock.
    private long _transactionStart;
    private long _queryStart;
    private volatile bool _waiting;
    private string _route = "primary";

    // Bytes of a frame still to copy, when a large message is forwarded in pieces as it arrives.
    private long _clientRemaining;

    // Bytes of a client frame still to drop, and whether to drop up to the next Sync (after a refused batch).
    private long _clientSkip;
    private bool _discardUntilSync;
    private long _pumpRemaining;
    private bool _pumpSkipping;

    private async Task RelayAsync()
    {
        var input = _client.Input;
        var token = _closing.Token;
        while (true)
        {
            var result = await input.ReadAsync(token);
            var buffer = result.Buffer;
            ServerConnection? target = null;
            var terminate = false;
            var wakePump = false;
            _lastActivity = Stopwatch.GetTimestamp();
            try
            {
                while (true)
                {
                    if (_clientSkip > 0)
                    {
                        var skip = Math.Min(_clientSkip, buffer.Length);
                        buffer = buffer.Slice(skip);
                        _clientSkip -= skip;
                        if (_clientSkip > 0)
                        {
                            break;
                        }

                        continue;
                    }

                    if (_clientRemaining > 0)
                    {
                        // No server while a message continues: the pump lost it and has told the client (08006).
                        target ??= CurrentServer();
                        if (target is null || !ClaimForWrite(target))
                        {
                            throw new IOException("the server connection was lost in the middle of a message");
                        }

                        if (!FrameCopier.CopyChunk(ref buffer, ref _clientRemaining, target.Connection.Output))
                        {
                            break;
                        }

                        continue;
                    }

                    var status = FrameReader.TryReadHeader(buffer, FrameReader.DefaultMaxFrameLength, out var header);
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

                    if (_localExtended is not null)
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
                        if (_discardUntilSync || CurrentServer() is null)
                        {
                            if (code == FrontendMessageCode.Sync)
                            {
                                MessageWriter.WriteReadyForQuery(_client.Output, _refusedBlock);
                                await _client.Output.FlushAsync(token);
                            }

                            _clientSkip = header.FrameLength;
                            continue;
                        }
                    }

                    // What must be looked at (SQL text, statement names) has to be here whole first.
                    var inspectStatus = TryInspect(code, header, buffer, out var inspection);
                    if (inspectStatus == ReadStatus.NeedMoreData)
                    {
                        break;
                    }

                    var server = CurrentServer();
                    if (server is null && (inspection.LocalAnswer is not null || _refusedBlock != TransactionStatus.Idle))
                    {
                        if (target is not null)
                        {
                            await FlushToServerAsync(target, token);
                            target = null;
                        }

                        await _pump;
                        await AnswerLocallyAsync(code, inspection.LocalAnswer, pipelined: buffer.Length > header.FrameLength, token);
                        _clientSkip = header.FrameLength;
                        continue;
                    }

                    if (server is null)
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

                            _clientSkip = header.FrameLength;
                            continue;
                        }

                        server = attached;
                    }

                    if (!TryNoteSent(server, code))
                    {
                        // The pump gave the server back (its transaction ended) between the look above and this claim:
                        // this message starts the next transaction, on whichever server that gets.
                        continue;
                    }

                    target = server;
                    if (Forward(server, code, header, ref buffer, inspection))
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

    private static bool IsValidFrontendCode(FrontendMessageCode code) => code is FrontendMessageCode.Bind or FrontendMessageCode.Close
        or FrontendMessageCode.CopyData or FrontendMessageCode.CopyDone or FrontendMessageCode.CopyFail or FrontendMessageCode.Describe
        or FrontendMessageCode.Execute or FrontendMessageCode.Flush or FrontendMessageCode.FunctionCall or FrontendMessageCode.Parse
        or FrontendMessageCode.Query or FrontendMessageCode.Sync;

    private ServerConnection? CurrentServer()
    {
        lock (_linkLock)
        {
            return _server;
        }
    }

    /// <summary>
    /// Claims the lent server for writing until the next flush (the pump then hands it back only through the client loop)
    /// and records what the message will make the server answer, before the server can answer it. False when the server
    /// is no longer this client's: the pump gave it back at the end of the transaction a moment ago.
    /// </summary>
    private bool TryNoteSent(ServerConnection server, FrontendMessageCode code)
    {
        lock (_linkLock)
        {
            if (_server != server)
            {
                return false;
            }

            _clientWriting = true;
            if (_pendingReady == 0 && !_unsynced)
            {
                _statementCancelSent = false;
                _queryStart = Stopwatch.GetTimestamp();
                if (_transactionStart == 0)
                {
                    _transactionStart = _queryStart;
                }
            }

            switch (code)
            {
                case FrontendMessageCode.Query:
                case FrontendMessageCode.FunctionCall:
                    _pendingReady++;
                    break;
                case FrontendMessageCode.Sync:
                    _pendingReady++;
                    _unsynced = false;
                    break;
                case FrontendMessageCode.CopyData:
                case FrontendMessageCode.CopyDone:
                case FrontendMessageCode.CopyFail:
                    break;
                default:
                    _unsynced = true;
                    break;
            }

            return true;
        }
    }

    /// <summary>Claims the lent server for writing the rest of a message already started on it; false when it was lost.</summary>
    private bool ClaimForWrite(ServerConnection server)
    {
        lock (_linkLock)
        {
            if (_server != server)
            {
                return false;
            }

            _clientWriting = true;
            return true;
        }
    }

    private async Task FlushToServerAsync(ServerConnection server, CancellationToken token)
    {
        try
        {
            await server.Connection.Output.FlushAsync(token);
        }
        catch (Exception ex) when (IsConnectionFailure(ex))
        {
            // The pump sees the same failure on its side and tells the client; wait for it to finish doing so.
            server.MarkBroken();
            if (EndClientWrite() is { } orphan)
            {
                orphan.Pool!.Discard(orphan);
            }

            await _pump;
            throw;
        }

        if (EndClientWrite() is { } giveBack)
        {
            giveBack.Pool!.Release(giveBack);
        }
    }

    private ServerConnection? EndClientWrite()
    {
        lock (_linkLock)
        {
            _clientWriting = false;
            var giveBack = _returnAfterFlush;
            _returnAfterFlush = null;
            return giveBack;
        }
    }

    /// <summary>
    /// Borrows a server for the transaction this message starts and starts the pump. Null when refused: the client was
    /// told, and Fatal says whether its session ends (pool timeout) or goes on (no primary).
    /// </summary>
    private async Task<(ServerConnection? Server, bool Fatal)> AttachAsync(Inspection inspection, ReadOnlySequence<byte> batch, CancellationToken token)
    {
        // The previous pump may still be flushing its last ReadyForQuery to the client: it owns the client's output
        // until it ends.
        await _pump;
        var (pool, refusal) = await ChooseServerAsync(DecideRoute(inspection, batch), ReadFloorApplies(inspection), token);
        if (pool is null)
        {
            LogNoServer(_logger, _userName, _databaseName, refusal!);
            MessageWriter.WriteErrorResponse(_client.Output, "ERROR", SqlState.ConnectionFailure, refusal!);
            await _client.Output.FlushAsync(token);
            return (null, false);
        }

        _pool = pool;

        using var waiting = await BeginCheckoutAsync(pool, token);
        var waitStarted = Stopwatch.GetTimestamp();
        ServerConnection server;
        _waiting = true;
        try
        {
            server = await pool.CheckoutAsync(token);
            _stats!.AddWait(waitStarted);
            _runtime.Metrics.CheckoutWait(Stopwatch.GetElapsedTime(waitStarted).TotalSeconds);
        }
        catch (PoolTimeoutException ex)
        {
            _closeReason = "pool wait timeout";
            LogPoolTimeout(_logger, _userName, _databaseName, RemoteAddress, Stopwatch.GetElapsedTime(waitStarted).TotalSeconds);
            EndLease();
            await TryFailClientAsync(SqlState.TooManyConnections, ex.Message);
            return (null, true);
        }
        catch (ServerConnectException ex)
        {
            _closeReason = "server unavailable";
            EndLease();
            await TryFailClientAsync(ex.ServerError?.SqlState ?? SqlState.ConnectionFailure, ex.ServerError?.Message ?? ex.Message);
            return (null, true);
        }
        finally
        {
            _waiting = false;
        }

        try
        {
            await SyncParametersAsync(server, token);
        }
        catch (ServerConnectException ex) when (ex.ServerError is { } error)
        {
            // The client's own settings are invalid (a bad startup parameter): PostgreSQL would refuse this login too.
            pool.Release(server);
            EndLease();
            _closeReason = "invalid session parameter";
            await TryFailClientAsync(error.SqlState, error.Message);
            return (null, true);
        }
        catch (Exception ex) when (IsConnectionFailure(ex) || ex is ServerConnectException or ProtocolViolationException)
        {
            server.MarkBroken();
            pool.Discard(server);
            EndLease();
            _closeReason = "server connection lost";
            await TryFailClientAsync(SqlState.ConnectionFailure, $"server connection lost: {ex.Message}");
            return (null, true);
        }

        lock (_linkLock)
        {
            _server = server;
            _stopPump = false;
            _pendingReady = 0;
            _unsynced = false;
        }

        _pump = PumpAsync(server);
        return (server, false);
    }

    private void EndLease()
    {
        lock (_linkLock)
        {
            EndLeaseLocked();
        }
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
    private async Task PumpAsync(ServerConnection server)
    {
        try
        {
            await PumpCoreAsync(server);
        }
        catch (Exception ex)
        {
            LogPumpFailed(_logger, RemoteAddress, ex);
            bool stillLent;
            lock (_linkLock)
            {
                stillLent = _server == server;
            }

            if (stillLent)
            {
                await ServerLostAsync(server, "internal error in the proxy");
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
    private async Task PumpCoreAsync(ServerConnection server)
    {
        var input = server.Connection.Input;
        var output = _client.Output;
        long remaining = 0;
        while (true)
        {
            ReadResult result;
            try
            {
                result = await input.ReadAsync();
            }
            catch (Exception ex) when (IsConnectionFailure(ex) || ex is InvalidOperationException)
            {
                await ServerLostAsync(server, ex.Message);
                return;
            }

            var buffer = result.Buffer;
            if (result.IsCanceled)
            {
                input.AdvanceTo(buffer.Start);
                lock (_linkLock)
                {
                    if (_stopPump)
                    {
                        _pumpRemaining = remaining;
                        return;
                    }
                }

                // Woken by the client loop: made-up replies are due with no server message to carry them.
                if (remaining == 0 && Renaming)
                {
                    WriteDueFakes(output);
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
                release = ForwardServerFrames(server, ref buffer, ref remaining, output);
            }
            catch (ProtocolViolationException ex)
            {
                input.AdvanceTo(buffer.Start);
                await ServerLostAsync(server, "server sent an invalid message: " + ex.Message);
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
                    handBack = !_clientWriting;
                    if (!handBack)
                    {
                        _returnAfterFlush = server;
                    }
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
                _pumpRemaining = remaining;
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

            if (_shutdownRequested && _mode == PoolMode.Session && server.TransactionStatus == TransactionStatus.Idle && Volatile.Read(ref _pendingReady) <= 0)
            {
                // Draining: a session-mode client is closed once its transaction is over.
                CancelClosing();
            }

            if (result.IsCompleted)
            {
                await ServerLostAsync(server, "the server closed the connection");
                return;
            }
        }
    }

    /// <summary>Copies whole and partial frames to the client; true when the server was just given back.</summary>
    private bool ForwardServerFrames(ServerConnection server, ref ReadOnlySequence<byte> buffer, ref long remaining, PipeWriter output)
    {
        while (true)
        {
            if (remaining > 0)
            {
                if (_pumpSkipping)
                {
                    var skip = Math.Min(remaining, buffer.Length);
                    buffer = buffer.Slice(skip);
                    remaining -= skip;
                    if (remaining > 0)
                    {
                        return false;
                    }

                    continue;
                }

                if (!FrameCopier.CopyChunk(ref buffer, ref remaining, output))
                {
                    return false;
                }

                continue;
            }

            var status = FrameReader.TryReadHeader(buffer, FrameReader.DefaultMaxFrameLength, out var header);
            if (status == ReadStatus.NeedMoreData)
            {
                return false;
            }

            if (status == ReadStatus.Invalid)
            {
                throw new ProtocolViolationException($"invalid message length {header.Length}");
            }

            var code = (BackendMessageCode)header.Code;
            var inspect = code is BackendMessageCode.ReadyForQuery or BackendMessageCode.ParameterStatus or BackendMessageCode.ErrorResponse
                && header.FrameLength <= MaxInspectedLength;
            if (inspect && buffer.Length < header.FrameLength)
            {
                return false;
            }

            // False for replies to what the proxy injected itself: they are read, and counted, but not forwarded.
            var forward = TakeReply(server, code, output);
            if (!inspect)
            {
                remaining = header.FrameLength;
                _pumpSkipping = !forward;
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
                        _pendingReady--;
                        SettleSessionSettingsLocked(server, transactionStatus);
                        RecordReadyForQuery(transactionStatus);
                        _lastActivity = Stopwatch.GetTimestamp();

                        if (transactionStatus == TransactionStatus.Idle && _pendingReady <= 0 && !_unsynced && _mode != PoolMode.Session && !_pinned)
                        {
                            _server = null;
                            EndLeaseLocked();
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
                    }

                    if (forward && Renaming && ForwardStatementError(error, payload, output))
                    {
                        forward = false;
                    }

                    break;
            }

            if (forward)
            {
                foreach (var segment in frame)
                {
                    output.Write(segment.Span);
                }
            }

            buffer = buffer.Slice(header.FrameLength);
            if (releaseNow)
            {
                return true;
            }
        }
    }

    /// <summary>A query ended (and with status Idle, a transaction). Called under _linkLock.</summary>
    private void RecordReadyForQuery(TransactionStatus status)
    {
        if (_queryStart != 0)
        {
            _stats!.AddQuery(_queryStart);
            var elapsed = Stopwatch.GetElapsedTime(_queryStart);
            _runtime.Metrics.QueryCompleted(_databaseName, _route, elapsed.TotalSeconds);
            var slow = _runtime.Config.Limits.SlowStatementLog;
            if (slow > TimeSpan.Zero && elapsed > slow)
            {
                LogSlowStatement(_logger, _userName, _databaseName, RemoteAddress, elapsed.TotalMilliseconds, Sluice.Routing.Classification.SqlRedaction.RedactLiterals(_lastStatementText ?? "(unknown)"));
            }
        }

        _queryStart = _pendingReady > 0 ? Stopwatch.GetTimestamp() : 0;
        if (status == TransactionStatus.Idle)
        {
            NoteTransactionEndLocked();
        }

        if (status == TransactionStatus.Idle && _transactionStart != 0)
        {
            _stats!.AddTransaction(_transactionStart);
            _runtime.Metrics.TransactionCompleted(_databaseName, _route);
            _transactionStart = 0;
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

    /// <summary>The lent server broke: it is discarded and the client is told (08006) and closed.</summary>
    private async Task ServerLostAsync(ServerConnection server, string reason)
    {
        bool clientWriting;
        lock (_linkLock)
        {
            if (_server == server)
            {
                _server = null;
                EndLeaseLocked();
            }

            // While the client loop is inside a write or flush to this server, closing it here would complete its
            // PipeWriter under that flush (segments returned to the pool twice). The client loop discards it after.
            server.MarkBroken();
            clientWriting = _clientWriting;
            if (clientWriting)
            {
                _returnAfterFlush = server;
            }
        }

        if (!clientWriting)
        {
            server.Pool!.Discard(server);
        }

        _closeReason = "server connection lost";
        LogServerLost(_logger, server.Target.ServerName, _userName, _databaseName, reason);
        await TryFailClientAsync(SqlState.ConnectionFailure, $"server connection lost: {reason}");
        CancelClosing();
    }

    /// <summary>Stops the pump where it is (it records how much of a frame it left unsent) and waits until it has.</summary>
    private async Task StopPumpAsync()
    {
        ServerConnection? server;
        lock (_linkLock)
        {
            server = _server;
            _stopPump = true;
        }

        if (!_pump.IsCompleted)
        {
            server?.Connection.Input.CancelPendingRead();
        }

        await _pump;
    }

    /// <summary>
    /// At the end of the session, once <see cref="StopPumpAsync"/> has stopped the pump: finishes or rolls back whatever
    /// the client left running, runs the reset query in session mode, and gives the server back — or closes it when it
    /// cannot be made clean.
    /// </summary>
    private async Task ReturnServerAsync()
    {
        ServerConnection? server;
        int pendingReady;
        bool unsynced;
        ServerConnection? orphan;
        lock (_linkLock)
        {
            server = _server;
            _server = null;
            pendingReady = _pendingReady;
            unsynced = _unsynced;
            orphan = _returnAfterFlush;
            _returnAfterFlush = null;
            EndLeaseLocked();
        }

        if (orphan is not null)
        {
            // The client loop ended inside a flush: whatever state that server is in, nobody can vouch for it.
            orphan.Pool!.Discard(orphan);
        }

        if (server is null)
        {
            return;
        }

        var pool = server.Pool!;
        if (server.IsBroken || _clientRemaining > 0)
        {
            // Half a message went to the server: no way to finish it cleanly.
            pool.Discard(server);
            return;
        }

        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            if (pendingReady > 0 || unsynced || _pumpRemaining > 0)
            {
                await server.SendCancelAsync(timeout.Token);
                if (unsynced)
                {
                    MessageWriter.WriteSync(server.Connection.Output);
                    await server.Connection.Output.FlushAsync(timeout.Token);
                    pendingReady++;
                }

                await server.DrainAsync(_pumpRemaining, pendingReady, timeout.Token);
            }

            if (server.TransactionStatus != TransactionStatus.Idle)
            {
                await server.RunControlQueryAsync("ROLLBACK", timeout.Token);
            }

            AbandonSessionSettings(server);

            if ((_mode == PoolMode.Session || _pinned) && pool.Settings.ResetQuery is { Length: > 0 } reset)
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
