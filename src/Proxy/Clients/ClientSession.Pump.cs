using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using Sluice.Protocol;
using Sluice.Protocol.Framing;
using Sluice.Protocol.Messages;
using Sluice.Routing.Classification;
using Sluice.Proxy.Configuration;
using Sluice.Proxy.Observability;
using Sluice.Proxy.Transport;

namespace Sluice.Proxy.Clients;

/// <summary>
/// The pump, one per lease: copies the lent server's frames to the client, answers from the reply queue what the proxy
/// owes in their place, settles the transaction at each ReadyForQuery and gives the server back when it ends.
/// </summary>
internal sealed partial class ClientSession
{
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
}
