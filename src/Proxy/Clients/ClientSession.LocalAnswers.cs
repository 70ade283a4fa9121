using System.Buffers;
using Sluice.Protocol.Framing;
using Sluice.Protocol.Messages;
using Sluice.Proxy.Configuration;
using Sluice.Proxy.Statements;
using Sluice.Routing.Classification;

namespace Sluice.Proxy.Clients;

/// <summary>
/// Messages the proxy answers itself instead of a server: statement mode's refused transaction blocks,
/// SET sluice.route, and the extended-protocol batches around them, in order with the replies a lent server gives.
/// </summary>
internal sealed partial class ClientSession
{
    private LocalAnswer? LocalAnswerFor(ClassificationResult classification)
    {
        if (_refusedBlock != TransactionStatus.Idle)
        {
            return classification.Statements is [{ Kind: StatementKind.Commit or StatementKind.Rollback or StatementKind.PrepareTransaction } end]
                ? LostBlockCommit(end.Kind != StatementKind.Rollback)
                    ?? new LocalAnswer(end.Kind == StatementKind.Commit && _refusedBlock == TransactionStatus.InTransaction ? "COMMIT" : "ROLLBACK", Block: BlockEffect.End)
                : CurrentBlockRefusal;
        }

        if (SessionRouteAnswer(classification) is { } routeAnswer)
        {
            return routeAnswer;
        }

        if (Mode == PoolMode.Statement && classification.IsBegin)
        {
            return classification.Statements.Count == 1 ? BlockRefusalOrOpening : BlockRefusal;
        }

        return null;
    }

    /// <summary>
    /// Answers a message the proxy handles itself; only while no server is lent (it owns the client's output). In a
    /// refused block that is every message, answered as PostgreSQL answers a failed transaction block, with 0A000.
    /// </summary>
    private async Task AnswerLocallyAsync(FrontendMessageCode code, LocalAnswer? answer, bool pipelined, CancellationToken token)
    {
        var output = _client.Output;
        if (answer?.Forgets is { } forgotten)
        {
            _clientStatements?.Remove(forgotten);
        }

        switch (code)
        {
            case FrontendMessageCode.Sync:
                MessageWriter.WriteReadyForQuery(output, _refusedBlock);
                break;
            case FrontendMessageCode.Flush or FrontendMessageCode.CopyData or FrontendMessageCode.CopyDone or FrontendMessageCode.CopyFail:
                // PostgreSQL too ignores copy messages outside COPY.
                break;
            case FrontendMessageCode.Parse:
                // The extended-protocol form: answered message by message up to its Sync.
                BeginLocalExtended(answer ?? CurrentBlockRefusal);
                break;
            case FrontendMessageCode.Query or FrontendMessageCode.FunctionCall:
                AnswerQuery(answer ?? CurrentBlockRefusal, opensBlock: code == FrontendMessageCode.Query && pipelined);
                break;
            default:
                // Bind, Describe, Execute or Close in a refused block: fails like a statement would, the rest of the batch is skipped.
                RefuseLocally(CurrentBlockRefusal);
                _discardUntilSync = true;
                break;
        }

        await output.FlushAsync(token);
    }

    private void AnswerQuery(LocalAnswer answer, bool opensBlock)
    {
        var output = _client.Output;
        if (answer.Block == BlockEffect.OpenOrRefuse && opensBlock)
        {
            MessageWriter.WriteCommandComplete(output, "BEGIN");
            _refusedBlock = TransactionStatus.InTransaction;
        }
        else if (answer.ErrorSqlState is not null)
        {
            RefuseLocally(answer);
            EndBlockIf(answer);
        }
        else
        {
            if (answer.Row is var (column, value))
            {
                MessageWriter.WriteRowDescription(output, [new ColumnDescription(column)]);
                MessageWriter.WriteDataRow(output, [value]);
            }

            MessageWriter.WriteCommandComplete(output, answer.CommandTag ?? "");
            EndBlockIf(answer);
        }

        MessageWriter.WriteReadyForQuery(output, _refusedBlock);
    }

    /// <summary>Starts answering an extended-protocol statement (SET/SHOW sluice.route, a refused BEGIN): ParseComplete or the error now, the rest as it comes.</summary>
    private void BeginLocalExtended(LocalAnswer answer)
    {
        if (answer.ErrorSqlState is not null)
        {
            // As PostgreSQL does after an error in a batch: the rest of it is skipped, its Sync gets the ReadyForQuery.
            RefuseLocally(answer);
            EndBlockIf(answer);
            _discardUntilSync = true;
        }
        else
        {
            MessageWriter.WriteParseComplete(_client.Output);
            _localExtended = answer;
            EndBlockIf(answer);
        }
    }

    private void RefuseLocally(LocalAnswer answer)
    {
        MessageWriter.WriteErrorResponse(_client.Output, "ERROR", answer.ErrorSqlState ?? SqlState.FeatureNotSupported, answer.ErrorMessage ?? "");
        if (_refusedBlock != TransactionStatus.Idle)
        {
            _refusedBlock = TransactionStatus.Failed;
            NoteBlockRefused(ended: false);
        }
    }

    private void EndBlockIf(LocalAnswer answer)
    {
        if (answer.Block == BlockEffect.End)
        {
            _refusedBlock = TransactionStatus.Idle;
            NoteBlockRefused(ended: true);
        }
    }

    /// <summary>
    /// Statement mode with a server lent (a pinned client, or messages pipelined behind replies still to come): a refused
    /// message is replaced on the server by a statement that fails there with the same error. The error then comes
    /// exactly where PostgreSQL's own would, in order with the server's other replies; the server skips the rest of the
    /// batch to its Sync (the proxy does not even send it) and rolls back what ran earlier in the batch. True when the
    /// message was refused so; false when it goes to the server as it is.
    /// </summary>
    private bool RefuseOnServer(ServerLease lease, FrontendMessageCode code, FrameHeader header, bool pipelined, in Inspection inspection)
    {
        var server = lease.Server;
        var answer = inspection.LocalAnswer;
        if (answer is null && _refusedBlock != TransactionStatus.Idle
            && code is not (FrontendMessageCode.Sync or FrontendMessageCode.Flush or FrontendMessageCode.CopyData or FrontendMessageCode.CopyDone or FrontendMessageCode.CopyFail))
        {
            answer = BlockRefusal;
        }

        switch (answer?.Block)
        {
            case BlockEffect.OpenOrRefuse when code == FrontendMessageCode.Query && pipelined:
                // The real BEGIN opens the block on the server, which keeps it lent until the client's COMMIT or ROLLBACK;
                // everything in between is refused there.
                _refusedBlock = TransactionStatus.InTransaction;
                return false;
            case BlockEffect.End:
                _refusedBlock = TransactionStatus.Idle;
                return false;
            case BlockEffect.Refuse or BlockEffect.OpenOrRefuse:
                break;
            default:
                return false;
        }

        var output = server.Connection.Output;
        lock (_linkLock)
        {
            if (code is FrontendMessageCode.Query or FrontendMessageCode.FunctionCall)
            {
                MessageWriter.WriteQuery(output, RefusalOnServerSql);
                lease.Replies.Enqueue(new PendingReply(ReplyTo.Query, ReplyAction.Forward));
            }
            else
            {
                MessageWriter.WriteParse(output, "", RefusalOnServerSql, []);
                MessageWriter.WriteBind(output, "", "");
                MessageWriter.WriteExecute(output, "");
                lease.Replies.Enqueue(new PendingReply(ReplyTo.Parse, ReplyAction.Swallow));
                lease.Replies.Enqueue(new PendingReply(ReplyTo.Bind, ReplyAction.Swallow));
                lease.Replies.Enqueue(new PendingReply(ReplyTo.Execute, ReplyAction.Forward));
            }
        }

        if (code is not (FrontendMessageCode.Query or FrontendMessageCode.FunctionCall))
        {
            // The client's Sync still goes to the server, which answers it after skipping to it as well.
            _discardUntilSync = true;
        }

        _fromClient.Skip(header.FrameLength);
        return true;
    }

    /// <summary>Bind, Describe, Execute, Close and Sync of a statement the proxy answers itself.</summary>
    private async Task AnswerLocalExtendedAsync(FrontendMessageCode code, ReadOnlySequence<byte> payload, CancellationToken token)
    {
        var output = _client.Output;
        var answer = _localExtended!;
        switch (code)
        {
            case FrontendMessageCode.Bind:
                MessageWriter.WriteBindComplete(output);
                break;
            case FrontendMessageCode.Describe:
                if (FrontendMessageReader.ReadCloseOrDescribe(payload).Kind == (byte)'S')
                {
                    MessageWriter.WriteParameterDescription(output, []);
                }

                if (answer.Row is var (column, _))
                {
                    MessageWriter.WriteRowDescription(output, [new ColumnDescription(column)]);
                }
                else
                {
                    MessageWriter.WriteNoData(output);
                }

                break;
            case FrontendMessageCode.Execute:
                if (answer.Row is var (_, value))
                {
                    MessageWriter.WriteDataRow(output, [value]);
                }

                MessageWriter.WriteCommandComplete(output, answer.CommandTag ?? "");
                if (answer.Forgets is not null)
                {
                    // A DEALLOCATE's answer ends with it: what follows in the batch is the client's next statement.
                    _localExtended = null;
                }

                break;
            case FrontendMessageCode.Close:
                MessageWriter.WriteCloseComplete(output);
                break;
            case FrontendMessageCode.Sync:
                _localExtended = null;
                MessageWriter.WriteReadyForQuery(output, _refusedBlock);
                break;
            case FrontendMessageCode.Flush:
                break;
            default:
                // Anything else in the same batch would need a server: refuse it rather than mix the two.
                _localExtended = null;
                _discardUntilSync = true;
                MessageWriter.WriteErrorResponse(output, "ERROR", SqlState.FeatureNotSupported, answer.Block == BlockEffect.End
                    ? "COMMIT or ROLLBACK of a transaction block refused in statement pooling mode must end its batch (the proxy answers it without a server)"
                    : "SET sluice.route must be sent in a batch of its own (the proxy answers it without a server)");
                break;
        }

        await output.FlushAsync(token);
    }
}
