using System.Buffers;
using System.IO.Pipelines;
using Sluice.Protocol.Messages;
using Sluice.Proxy.Servers;
using Sluice.Proxy.Statements;

namespace Sluice.Proxy.Clients;

/// <summary>
/// The replies a server owes, as the pump meets them: replies the proxy made up, errors about renamed statements, and
/// the reply queue that says what each server message answers.
/// </summary>
internal sealed partial class ClientSession
{
    private void ForgetStatements(ServerConnection server)
    {
        ForgetKnowledgeOfClientStatements();
        _clientStatements?.Clear();
        lock (_linkLock)
        {
            server.Statements.Clear();
        }
    }

    /// <summary>Prompts the pump to send made-up replies now: no server message may come to prompt it.</summary>
    private void WakePump(ServerLease lease)
    {
        var server = lease.Server;
        lock (_linkLock)
        {
            if (_lease != lease || !lease.Replies.HeadIsFake)
            {
                return;
            }
        }

        server.Connection.Input.CancelPendingRead();
    }

    /// <summary>Sends the made-up replies now at the head of the queue. Pump only.</summary>
    private void WriteDueFakes(ServerLease lease, PipeWriter output)
    {
        lock (_linkLock)
        {
            WriteDueFakesLocked(lease, output);
        }
    }

    private static void WriteDueFakesLocked(ServerLease lease, PipeWriter output)
    {
        while (lease.Replies.TryPeek(out var head) && head.Action == ReplyAction.Fake)
        {
            lease.Replies.Dequeue();
            if (head.To == ReplyTo.Parse)
            {
                MessageWriter.WriteParseComplete(output);
            }
            else
            {
                MessageWriter.WriteCloseComplete(output);
            }
        }
    }

    /// <summary>
    /// A server error about a renamed statement, on its way to the client. A stale statement (0A000 from Bind or
    /// Describe: "cached plan must not change result type" after DDL) is retired from the shared cache, so the client's
    /// next Parse of that text (drivers re-prepare on this error) prepares a fresh copy instead of getting the stale
    /// one back. An error that names the shared copy ("sluice_7") is rewritten to name the client's statement. True
    /// when the error was written here, rewritten. Pump only, right after <see cref="TakeReply"/> let the error through.
    /// </summary>
    private bool ForwardStatementError(ServerLease lease, ErrorFields error, in ReadOnlySequence<byte> payload, PipeWriter output)
    {
        var failed = lease.FailedReply;
        lease.FailedReply = default;
        if (failed.Statement is not { } statement)
        {
            return false;
        }

        if (error.SqlState == SqlState.FeatureNotSupported && failed.To is ReplyTo.Bind or ReplyTo.Describe)
        {
            // The stale copy stays on the servers (LRU-evicted in time): clients still bound to it get PostgreSQL's
            // answer there, as they would without the pool.
            _runtime.PreparedStatements.Retire(statement);
            _runtime.PreparedStatements.NoteSchemaChange();
        }

        return failed.ClientName is { } clientName
            && MessageWriter.TryWriteFieldsReplacing(output, (byte)BackendMessageCode.ErrorResponse, payload, statement.ServerName, clientName);
    }

    /// <summary>
    /// Matches one server message against the replies owed; false when it must not reach the client (the success
    /// reply to an injected Parse or Close). Pump only.
    /// </summary>
    private bool TakeReply(ServerLease lease, BackendMessageCode code, PipeWriter output, in ReadOnlySequence<byte> frame)
    {
        var server = lease.Server;
        if (code is BackendMessageCode.NoticeResponse or BackendMessageCode.ParameterStatus or BackendMessageCode.NotificationResponse
            || (lease.Replies.AllForwarded && !ReplyQueue.MayEnd(code)))
        {
            // The common case of a large result: rows pass without taking the lock.
            return true;
        }

        lock (_linkLock)
        {
            WriteDueFakesLocked(lease, output);
            lease.FailedReply = default;
            if (!lease.Replies.TryPeek(out var head))
            {
                return true;
            }

            if (code == BackendMessageCode.ErrorResponse)
            {
                if (head.To is ReplyTo.Query or ReplyTo.Sync)
                {
                    return true;
                }

                lease.FailedReply = head;

                // An extended-protocol message failed: the server skips everything up to Sync, made-up replies included.
                while (lease.Replies.TryPeek(out var skipped) && skipped.To != ReplyTo.Sync)
                {
                    lease.Replies.Dequeue();
                    if (skipped.To == ReplyTo.Parse && skipped.Statement is { } notPrepared && skipped.Action != ReplyAction.Fake)
                    {
                        server.Statements.Remove(notPrepared);
                    }
                }

                return true;
            }

            if (code == BackendMessageCode.ReadyForQuery && head.To is not (ReplyTo.Query or ReplyTo.Sync))
            {
                // Out of step (should not happen): drop what the server will never answer.
                while (lease.Replies.TryPeek(out var stale) && stale.To is not (ReplyTo.Query or ReplyTo.Sync))
                {
                    lease.Replies.Dequeue();
                }

                if (!lease.Replies.TryPeek(out head))
                {
                    return true;
                }
            }

            lease.Replies.Learn(head, code, frame);
            if (code == BackendMessageCode.CommandComplete && RetaggedLocked(lease, head, output))
            {
                return false;
            }

            if (!ReplyQueue.Ends(head.To, code))
            {
                // Rows and tags of an injected statement are the proxy's, like its last message.
                return head.Action != ReplyAction.Swallow;
            }

            lease.Replies.Dequeue();
            return head.Action != ReplyAction.Swallow;
        }
    }
}
