using System.Diagnostics;
using Sluice.Protocol;
using Sluice.Protocol.Framing;
using Sluice.Protocol.Messages;
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
}
