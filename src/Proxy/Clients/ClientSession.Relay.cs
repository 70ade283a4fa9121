using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using Sluice.Protocol;
using Sluice.Protocol.Framing;
using Sluice.Protocol.Messages;
using Sluice.Proxy.Configuration;
using Sluice.Proxy.Pooling;
using Sluice.Proxy.Servers;

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

    // Bytes of a frame still to copy, when a large message is forwarded in pieces as it arrives.
    private long _clientRemaining;
    private long _pumpRemaining;

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
            try
            {
                while (true)
                {
                    if (_clientRemaining > 0)
                    {
                        // No server while a message continues: the pump lost it and has told the client (08006).
                        target ??= CurrentServer() ?? throw new IOException("the server connection was lost in the middle of a message");
                        if (!CopyChunk(ref buffer, ref _clientRemaining, target.Connection.Output))
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
                        throw new ProtocolViolationException($"invalid message length {header.Length} for message type '{(char)header.Code}'");
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
                        throw new ProtocolViolationException($"invalid frontend message type '{(char)header.Code}'");
                    }

                    var server = CurrentServer();
                    if (server is null)
                    {
                        if (target is not null)
                        {
                            // Frames already copied to the previous server go out before switching.
                            await FlushToServerAsync(target, token);
                            target = null;
                        }

                        server = await AttachAsync(token);
                        if (server is null)
                        {
                            terminate = true;
                            break;
                        }
                    }

                    target = server;
                    NoteSent(code);
                    _clientRemaining = header.FrameLength;
                    CopyChunk(ref buffer, ref _clientRemaining, server.Connection.Output);
                }
            }
            finally
            {
                input.AdvanceTo(buffer.Start, buffer.End);
            }

            if (target is not null)
            {
                await FlushToServerAsync(target, token);
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

    /// <summary>Copies up to <paramref name="remaining"/> bytes from the front of the buffer; true when the frame is complete.</summary>
    private static bool CopyChunk(ref ReadOnlySequence<byte> buffer, ref long remaining, PipeWriter output)
    {
        var take = Math.Min(remaining, buffer.Length);
        if (take == 0)
        {
            return false;
        }

        var chunk = buffer.Slice(0, take);
        foreach (var segment in chunk)
        {
            output.Write(segment.Span);
        }

        buffer = buffer.Slice(take);
        remaining -= take;
        return remaining == 0;
    }

    private ServerConnection? CurrentServer()
    {
        lock (_linkLock)
        {
            return _server;
        }
    }

    /// <summary>Records what a forwarded message will make the server answer, before the server can answer it.</summary>
    private void NoteSent(FrontendMessageCode code)
    {
        lock (_linkLock)
        {
            _clientWriting = true;
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
                _pool!.Discard(orphan);
            }

            await _pump;
            throw;
        }

        if (EndClientWrite() is { } giveBack)
        {
            _pool!.Release(giveBack);
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

    /// <summary>Borrows a server for this client and starts the pump; null when the client was refused (and told).</summary>
    private async Task<ServerConnection?> AttachAsync(CancellationToken token)
    {
        // The previous pump may still be flushing its last ReadyForQuery to the client: it owns the client's output
        // until it ends.
        await _pump;
        var pool = _pool!;
        var waitStarted = Stopwatch.GetTimestamp();
        ServerConnection server;
        try
        {
            server = await pool.CheckoutAsync(token);
        }
        catch (PoolTimeoutException ex)
        {
            _closeReason = "pool wait timeout";
            LogPoolTimeout(_logger, _userName, _databaseName, RemoteAddress, Stopwatch.GetElapsedTime(waitStarted).TotalSeconds);
            await TryFailClientAsync(SqlState.TooManyConnections, ex.Message);
            return null;
        }
        catch (ServerConnectException ex)
        {
            _closeReason = "server unavailable";
            await TryFailClientAsync(ex.ServerError?.SqlState ?? SqlState.ConnectionFailure, ex.ServerError?.Message ?? ex.Message);
            return null;
        }

        try
        {
            await SyncParametersAsync(server, token);
        }
        catch (ServerConnectException ex) when (ex.ServerError is { } error)
        {
            // The client's own settings are invalid (a bad startup parameter): PostgreSQL would refuse this login too.
            pool.Release(server);
            _closeReason = "invalid session parameter";
            await TryFailClientAsync(error.SqlState, error.Message);
            return null;
        }
        catch (Exception ex) when (IsConnectionFailure(ex) || ex is ServerConnectException or ProtocolViolationException)
        {
            server.MarkBroken();
            pool.Discard(server);
            _closeReason = "server connection lost";
            await TryFailClientAsync(SqlState.ConnectionFailure, $"server connection lost: {ex.Message}");
            return null;
        }

        lock (_linkLock)
        {
            _server = server;
            _stopPump = false;
            _pendingReady = 0;
            _unsynced = false;
        }

        _pump = PumpAsync(server);
        return server;
    }

    /// <summary>Makes the lent server's session settings this client's before its first message runs there.</summary>
    private async Task SyncParametersAsync(ServerConnection server, CancellationToken token)
    {
        var sql = _parameters.BuildSyncSql(server.ReportedParameters, server.UnreportedSettings);
        if (sql is null)
        {
            return;
        }

        var changes = _parameters.Differences(server.ReportedParameters, server.UnreportedSettings).ToList();
        var error = await server.RunControlQueryAsync(sql, token);
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

    /// <summary>Server → client. Ends when the transaction ends (transaction mode), when asked to stop, or on failure.</summary>
    private async Task PumpAsync(ServerConnection server)
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

                continue;
            }

            var release = false;
            var handBack = false;
            try
            {
                release = ForwardServerFrames(server, ref buffer, ref remaining, output, out handBack);
            }
            catch (ProtocolViolationException ex)
            {
                input.AdvanceTo(buffer.Start);
                await ServerLostAsync(server, "server sent an invalid message: " + ex.Message);
                return;
            }

            input.AdvanceTo(buffer.Start, buffer.End);
            if (release && handBack)
            {
                _pool!.Release(server);
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

            if (result.IsCompleted)
            {
                await ServerLostAsync(server, "the server closed the connection");
                return;
            }
        }
    }

    /// <summary>Copies whole and partial frames to the client; true when the server was just given back.</summary>
    private bool ForwardServerFrames(ServerConnection server, ref ReadOnlySequence<byte> buffer, ref long remaining, PipeWriter output, out bool handBack)
    {
        handBack = true;
        while (true)
        {
            if (remaining > 0)
            {
                if (!CopyChunk(ref buffer, ref remaining, output))
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
            if (!inspect)
            {
                remaining = header.FrameLength;
                continue;
            }

            if (buffer.Length < header.FrameLength)
            {
                return false;
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
                        if (transactionStatus == TransactionStatus.Idle && _pendingReady <= 0 && !_unsynced && _mode != PoolMode.Session)
                        {
                            _server = null;
                            releaseNow = true;
                            if (_clientWriting)
                            {
                                _returnAfterFlush = server;
                                handBack = false;
                            }
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
                    if (error.IsFatal)
                    {
                        server.MarkBroken();
                    }

                    break;
            }

            foreach (var segment in frame)
            {
                output.Write(segment.Span);
            }

            buffer = buffer.Slice(header.FrameLength);
            if (releaseNow)
            {
                return true;
            }
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
            _pool!.Discard(server);
        }

        _closeReason = "server connection lost";
        LogServerLost(_logger, server.Target.ServerName, _userName, _databaseName, reason);
        await TryFailClientAsync(SqlState.ConnectionFailure, $"server connection lost: {reason}");
        CancelClosing();
    }

    /// <summary>
    /// At the end of the session: stops the pump, finishes or rolls back whatever the client left running, runs the reset
    /// query in session mode, and gives the server back — or closes it when it cannot be made clean.
    /// </summary>
    private async Task ReturnServerAsync()
    {
        ServerConnection? server;
        lock (_linkLock)
        {
            server = _server;
            _stopPump = true;
        }

        server?.Connection.Input.CancelPendingRead();
        await _pump;

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
        }

        if (orphan is not null)
        {
            // The client loop ended inside a flush: whatever state that server is in, nobody can vouch for it.
            _pool!.Discard(orphan);
        }

        if (server is null)
        {
            return;
        }

        var pool = _pool!;
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

            if (_mode == PoolMode.Session && pool.Settings.ResetQuery is { Length: > 0 } reset)
            {
                await server.RunControlQueryAsync(reset, timeout.Token);
                server.UnreportedSettings.Clear();
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
