using System.Buffers;
using Sluice.Protocol.Framing;
using Sluice.Protocol.Messages;
using Sluice.Proxy.Configuration;
using Sluice.Proxy.Statements;

namespace Sluice.Proxy.Clients;

/// <summary>
/// A client message on its way to the lent server: forwarded as it is, or with its statement names renamed to the
/// shared ones (prepared on this server first when it lacks them), each with the reply it makes the server owe.
/// </summary>
internal sealed partial class ClientSession
{
    /// <summary>
    /// Copies (or rewrites) one client message to the lent server. True when a made-up reply was queued that the pump
    /// may have to send without a server message to prompt it.
    /// </summary>
    private bool Forward(ServerLease lease, FrontendMessageCode code, FrameHeader header, ref ReadOnlySequence<byte> buffer, in Inspection inspection)
    {
        var server = lease.Server;
        if (Mode == PoolMode.Statement && RefuseOnServer(lease, code, header, pipelined: buffer.Length > header.FrameLength, inspection))
        {
            return false;
        }

        var output = server.Connection.Output;
        var restore = inspection.Classification is { } classification ? ApplySessionEffects(server, classification) : null;
        JournalSessionSettings(server, code, inspection);
        NoteStatementEffects(lease, inspection.Classification);
        if (code == FrontendMessageCode.Parse && restore is not null)
        {
            // A reset through the extended protocol happens at Execute: the startup values go back right after it.
            _restoreAfterExecute = restore;
            restore = null;
        }

        if (Renaming && code == FrontendMessageCode.Parse && ForwardDeallocatingParse(lease, header, ref buffer, inspection))
        {
            return false;
        }

        if (Renaming && ForwardRenamed(lease, code, header, ref buffer, inspection, out var fake))
        {
            return fake;
        }

        if (Renaming && code == FrontendMessageCode.Query && inspection.Classification is { } query && ForwardDeallocating(lease, header, ref buffer, query))
        {
            InjectRestoreIf(lease, restore);
            return false;
        }

        if (ReplyFor(code) is { } replyTo)
        {
            lock (_linkLock)
            {
                lease.Replies.Enqueue(DeallocationReply(code, inspection) ?? new PendingReply(replyTo, ReplyAction.Forward, Resets: IsLoneDiscardAll(code, inspection)));
            }
        }

        _fromClient.Forward(header.FrameLength);
        var whole = _fromClient.Move(ref buffer, output);
        if (restore is not null)
        {
            InjectRestoreIf(lease, restore);
        }
        else if (code == FrontendMessageCode.Execute && whole && _restoreAfterExecute is { } afterExecute)
        {
            _restoreAfterExecute = null;
            InjectRestore(lease, afterExecute, simpleQuery: false);
        }

        return false;
    }

    private void InjectRestoreIf(ServerLease lease, List<KeyValuePair<string, string>>? restore)
    {
        if (restore is not null)
        {
            InjectRestore(lease, restore, simpleQuery: true);
        }
    }

    /// <summary>
    /// Statement-name rewriting for transaction mode; false when the message is not a named-statement one and goes
    /// through unchanged.
    /// </summary>
    private bool ForwardRenamed(ServerLease lease, FrontendMessageCode code, FrameHeader header, ref ReadOnlySequence<byte> buffer, in Inspection inspection, out bool fake)
    {
        var server = lease.Server;
        var output = server.Connection.Output;
        fake = false;
        switch (code)
        {
            case FrontendMessageCode.Parse when inspection.Parse is { } parse && IsNamed(parse.StatementName):
                var statement = _runtime.PreparedStatements.GetOrAddCurrent(parse.Query, parse.ParameterTypes);
                statement.Classification ??= inspection.Classification;
                (_clientStatements ??= new(StringComparer.Ordinal))[parse.StatementName] = statement;
                lock (_linkLock)
                {
                    if (server.Statements.Contains(statement))
                    {
                        server.Statements.Touch(statement);
                        lease.Replies.Enqueue(new PendingReply(ReplyTo.Parse, ReplyAction.Fake));
                        fake = true;
                    }
                    else
                    {
                        PrepareLocked(lease, statement, ReplyAction.Forward, parse.StatementName);
                    }
                }

                buffer = buffer.Slice(header.FrameLength);
                return true;
            case FrontendMessageCode.Bind when TryGetClientStatement(inspection.StatementName, out var bound):
                lock (_linkLock)
                {
                    EnsurePreparedLocked(lease, bound, inspection.StatementName!);
                    lease.Replies.Enqueue(new PendingReply(ReplyTo.Bind, ReplyAction.Forward, bound, inspection.StatementName));
                }

                var rest = (int)(header.FrameLength - inspection.PrefixLength);
                MessageWriter.WriteBindPrefix(output, inspection.Portal!, bound.ServerName, rest);
                buffer = buffer.Slice(inspection.PrefixLength);
                _fromClient.Forward(rest);
                _fromClient.Move(ref buffer, output);
                return true;
            case FrontendMessageCode.Describe when inspection.TargetKind == (byte)'S' && IsNamed(inspection.StatementName)
                                                   && TryGetClientStatement(inspection.StatementName, out var described):
                lock (_linkLock)
                {
                    EnsurePreparedLocked(lease, described, inspection.StatementName!);
                    var stamp = StampFor(lease);
                    lease.Replies.Enqueue(new PendingReply(ReplyTo.Describe, stamp is null ? ReplyAction.Forward : ReplyAction.Learn, described, inspection.StatementName, stamp));
                }

                MessageWriter.WriteDescribe(output, (byte)'S', described.ServerName);
                buffer = buffer.Slice(header.FrameLength);
                return true;
            case FrontendMessageCode.Close when inspection.TargetKind == (byte)'S' && IsNamed(inspection.StatementName):
                // The shared copy stays on the server for other clients; this client just forgets its name.
                _clientStatements?.Remove(inspection.StatementName!);
                lock (_linkLock)
                {
                    lease.Replies.Enqueue(new PendingReply(ReplyTo.Close, ReplyAction.Fake));
                }

                fake = true;
                buffer = buffer.Slice(header.FrameLength);
                return true;
            default:
                return false;
        }
    }

    private static ReplyTo? ReplyFor(FrontendMessageCode code) => code switch
    {
        FrontendMessageCode.Parse => ReplyTo.Parse,
        FrontendMessageCode.Bind => ReplyTo.Bind,
        FrontendMessageCode.Close => ReplyTo.Close,
        FrontendMessageCode.Describe => ReplyTo.Describe,
        FrontendMessageCode.Execute => ReplyTo.Execute,
        FrontendMessageCode.Sync => ReplyTo.Sync,
        FrontendMessageCode.Query or FrontendMessageCode.FunctionCall => ReplyTo.Query,
        _ => null,
    };

    /// <summary>Injects a Parse for a statement the server lacks (its success reply swallowed). Under _linkLock.</summary>
    private void EnsurePreparedLocked(ServerLease lease, PreparedStatement statement, string clientName)
    {
        var server = lease.Server;
        if (server.Statements.Contains(statement))
        {
            server.Statements.Touch(statement);
            return;
        }

        PrepareLocked(lease, statement, ReplyAction.Swallow, clientName);
    }

    /// <summary>
    /// Sends the statement's Parse, first closing the coldest statement when the server's set is full. The client's
    /// name for it goes with the reply, so an error about it can name the client's statement. Under _linkLock.
    /// </summary>
    private void PrepareLocked(ServerLease lease, PreparedStatement statement, ReplyAction action, string clientName)
    {
        var server = lease.Server;
        var output = server.Connection.Output;
        if (server.Statements.Add(statement, _policy!.StatementsPerServer) is { } evicted)
        {
            MessageWriter.WriteClose(output, (byte)'S', evicted.ServerName);
            lease.Replies.Enqueue(new PendingReply(ReplyTo.Close, ReplyAction.Swallow));
        }

        output.Write(statement.ParseMessage);
        lease.Replies.Enqueue(new PendingReply(ReplyTo.Parse, action, statement, clientName, StampFor(lease)));
    }
}
