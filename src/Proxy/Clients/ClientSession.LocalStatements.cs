using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Sluice.Protocol.Framing;
using Sluice.Protocol.Messages;
using Sluice.Proxy.Statements;
using Sluice.Routing.Classification;

namespace Sluice.Proxy.Clients;

/// <summary>
/// A reply the proxy gives to an extended-protocol message while no server is lent: ParseComplete for a text a server
/// already parsed, the descriptions it learned for a Describe, CloseComplete, and the ReadyForQuery of a Sync that ends
/// a batch answered so. Nothing in it needs a server, so a client that prepares lazily (pgbench -M prepared prepares
/// each statement with Parse + Sync and blocks its thread until answered) does not wait for one.
/// </summary>
internal readonly record struct ReplyWithoutServer(
    FrontendMessageCode Code,
    PreparedStatement? Statement = null,
    string? ClientName = null,
    StatementKnowledge? Knowledge = null);

/// <summary>The session's side of statements answered without a server and of SQL DEALLOCATE (logic in Statements/).</summary>
internal sealed partial class ClientSession
{
    // What the names of a text resolve against, computed again when search_path changes. Client loop only, and only
    // while no pump can change the session's parameters (no server lent, or before a lease's pump starts).
    private string? _statementContext;
    private string? _statementContextSearchPath;

    // The unnamed statement on the lent server is a DEALLOCATE's stand-in (and is bound to the unnamed portal). Client loop.
    private DeallocationPlan? _deallocationParsed;
    private bool _deallocationBound;

    // Client statements whose DEALLOCATE a server ran (as a stand-in): the pump's to add, the client loop's to apply.
    // Made at the first such DEALLOCATE: an empty queue is about 1 KiB, which every idle client would carry.
    private System.Collections.Concurrent.ConcurrentQueue<KeyValuePair<string, PreparedStatement>>? _deallocated;

    private string CurrentStatementContext()
    {
        _parameters.TryGet("search_path", out var searchPath);
        if (_statementContext is null || !string.Equals(searchPath, _statementContextSearchPath, StringComparison.Ordinal))
        {
            _statementContextSearchPath = searchPath;
            _statementContext = StatementContext.Of(_databaseName, _userName, searchPath);
        }

        return _statementContext;
    }

    /// <summary>What a Parse or Describe sent on <paramref name="lease"/> may be learned as; null when its context is not known.</summary>
    private KnowledgeStamp? StampFor(ServerLease lease) =>
        lease.StatementContext is { } context ? new KnowledgeStamp(context, _runtime.PreparedStatements.SchemaEpoch) : null;

    /// <summary>The reply to give without a server to a message that arrives while none is lent; null when it needs one.</summary>
    private ReplyWithoutServer? PlanReplyWithoutServer(FrontendMessageCode code, in Inspection inspection)
    {
        if (!Renaming)
        {
            return null;
        }

        switch (code)
        {
            case FrontendMessageCode.Sync or FrontendMessageCode.Flush:
                // No server lent: nothing is running or owed, so the session is idle and a Sync only says so.
                return new ReplyWithoutServer(code);
            case FrontendMessageCode.Close:
                // Closing a statement forgets the client's name (the shared copy stays); a portal cannot outlive the
                // transaction it was bound in, and closing a missing one is no error on PostgreSQL either.
                return new ReplyWithoutServer(code, ClientName: inspection.TargetKind == (byte)'S' ? inspection.StatementName : null);
            case FrontendMessageCode.Parse when inspection is { Parse: { } parse, Classification: { } classification }
                                                && IsNamed(parse.StatementName) && PreparesWithoutEffects(classification):
                return _runtime.PreparedStatements.FindParsed(parse.Query, parse.ParameterTypes, CurrentStatementContext()) is { } statement
                    ? new ReplyWithoutServer(code, statement, parse.StatementName)
                    : null;
            case FrontendMessageCode.Describe when inspection.TargetKind == (byte)'S'
                                                   && TryGetClientStatement(inspection.StatementName, out var described)
                                                   && described.Knowledge is { IsDescribed: true } known
                                                   && known.Holds(CurrentStatementContext(), _runtime.PreparedStatements.SchemaEpoch):
                return new ReplyWithoutServer(code, described, Knowledge: known);
            default:
                return null;
        }
    }

    /// <summary>
    /// A Parse the proxy may answer without a server must do nothing at prepare time that a server has to see: no
    /// pinning, no session setting, no DISCARD / DEALLOCATE, no DDL (which moves the schema epoch when it runs).
    /// </summary>
    private static bool PreparesWithoutEffects(ClassificationResult classification)
    {
        if (classification.PinsSession || classification.SessionSettings.Count > 0)
        {
            return false;
        }

        foreach (var statement in classification.Statements)
        {
            if (statement.Kind is StatementKind.Deallocate or StatementKind.Discard || ChangesSchema(statement.Kind))
            {
                return false;
            }
        }

        return true;
    }

    private static bool ChangesSchema(StatementKind kind) => kind is StatementKind.Ddl or StatementKind.Do or StatementKind.Unknown;

    /// <summary>Writes a reply planned by <see cref="PlanReplyWithoutServer"/>; the client's output is this loop's (no pump runs).</summary>
    private void WriteReplyWithoutServer(in ReplyWithoutServer reply, ClassificationResult? classification)
    {
        var output = _client.Output;
        switch (reply.Code)
        {
            case FrontendMessageCode.Sync:
                MessageWriter.WriteReadyForQuery(output, TransactionStatus.Idle);
                break;
            case FrontendMessageCode.Close:
                if (IsNamed(reply.ClientName))
                {
                    _clientStatements?.Remove(reply.ClientName!);
                }

                MessageWriter.WriteCloseComplete(output);
                break;
            case FrontendMessageCode.Parse:
                var statement = reply.Statement!;
                statement.Classification ??= classification;
                (_clientStatements ??= new(StringComparer.Ordinal))[reply.ClientName!] = statement;
                MessageWriter.WriteParseComplete(output);
                break;
            case FrontendMessageCode.Describe:
                output.Write(reply.Knowledge!.ParameterDescription);
                output.Write(reply.Knowledge.ResultDescription);
                break;
            default:
                break;
        }
    }

    /// <summary>
    /// A lone <c>DEALLOCATE name</c> in a simple Query while no server is lent: of a statement the client prepared
    /// through the protocol it is answered here; of a name the client does not have, with PostgreSQL's own 26000 (with no
    /// server lent the client has no SQL-level statements either: PREPARE pins).
    /// </summary>
    /// <remarks>
    /// Through the extended protocol (libpq's PQsendQueryParams, which psycopg 3 uses for it) the Parse of such a text is
    /// answered here, its Bind, Describe and Execute too; an unknown name goes to a server, which raises the error at
    /// Execute, where PostgreSQL raises it.
    /// </remarks>
    private LocalAnswer? DeallocationAnswer(ClassificationResult classification, bool extended)
    {
        if (!Renaming || Deallocation.SoleName(classification) is not { } name)
        {
            return null;
        }

        return _clientStatements?.ContainsKey(name) == true ? new LocalAnswer(Deallocation.CommandTag, Forgets: name)
            : extended ? null
            : new LocalAnswer(null, SqlState.InvalidSqlStatementName, Deallocation.UnknownStatementMessage(name));
    }

    /// <summary>
    /// While the proxy answers a statement itself through the extended protocol: whether <paramref name="code"/> is still
    /// part of it. A DEALLOCATE's answer covers its own Bind, Describe and Execute only; anything else ends it and goes
    /// on as usual (in a pipeline the client's next statement follows before the Sync).
    /// </summary>
    private bool LocalExtendedCovers(FrontendMessageCode code)
    {
        if (_localExtended?.Forgets is null || code is FrontendMessageCode.Bind or FrontendMessageCode.Describe or FrontendMessageCode.Execute)
        {
            return true;
        }

        _localExtended = null;
        return false;
    }

    /// <summary>
    /// On a lent server, the unnamed Parse of a lone DEALLOCATE of a client statement: the stand-in is parsed in its
    /// place, and the Execute bound to it gets its tag retagged (<see cref="DeallocationReply"/>). False otherwise.
    /// </summary>
    private bool ForwardDeallocatingParse(ServerLease lease, FrameHeader header, ref ReadOnlySequence<byte> buffer, in Inspection inspection)
    {
        _deallocationBound = false;
        _deallocationParsed = null;
        if (inspection is not { Parse.StatementName: "", LocalAnswer.Forgets: { } name }
            || _clientStatements?.TryGetValue(name, out var statement) != true)
        {
            return false;
        }

        lock (_linkLock)
        {
            MessageWriter.WriteParse(lease.Server.Connection.Output, "", Deallocation.StandIn, []);
            lease.Replies.Enqueue(new PendingReply(ReplyTo.Parse, ReplyAction.Forward));
        }

        _deallocationParsed = new DeallocationPlan(1, [new(name, statement!)]);
        buffer = buffer.Slice(header.FrameLength);
        return true;
    }

    /// <summary>
    /// The reply to owe for a Bind or Execute going to the server unchanged: the Execute of the unnamed statement that
    /// stands in for a DEALLOCATE is retagged; null for everything else (a plain Forward). Under the link lock.
    /// </summary>
    private PendingReply? DeallocationReply(FrontendMessageCode code, in Inspection inspection)
    {
        switch (code)
        {
            case FrontendMessageCode.Bind when _deallocationParsed is not null:
                _deallocationBound = inspection.StatementName == "";
                return null;
            case FrontendMessageCode.Execute when _deallocationBound:
                var plan = _deallocationParsed;
                _deallocationParsed = null;
                _deallocationBound = false;
                return new PendingReply(ReplyTo.Execute, ReplyAction.Retag, Deallocations: plan);
            case FrontendMessageCode.Parse:
                _deallocationParsed = null;
                _deallocationBound = false;
                return null;
            default:
                return null;
        }
    }

    /// <summary>
    /// A simple Query on a lent server that deallocates client statements (inside a transaction block, or among other
    /// statements): each such DEALLOCATE is replaced by a stand-in whose tag the pump turns into DEALLOCATE, so the
    /// replies come in order and an earlier error skips it as PostgreSQL would. False when the Query goes unchanged.
    /// </summary>
    private bool ForwardDeallocating(ServerLease lease, FrameHeader header, ref ReadOnlySequence<byte> buffer, ClassificationResult classification)
    {
        if (!Deallocation.Names(classification, _clientStatements))
        {
            return false;
        }

        var sql = Encoding.UTF8.GetString(buffer.Slice(FrameHeader.Size, header.PayloadLength)).TrimEnd('\0');
        if (!Deallocation.TryRewrite(sql, classification, _clientStatements, out var rewritten, out var plan))
        {
            return false;
        }

        lock (_linkLock)
        {
            MessageWriter.WriteQuery(lease.Server.Connection.Output, rewritten);
            lease.Replies.Enqueue(new PendingReply(ReplyTo.Query, ReplyAction.Retag, Deallocations: plan));
        }

        buffer = buffer.Slice(header.FrameLength);
        return true;
    }

    /// <summary>
    /// A CommandComplete of the head reply: when it is a DEALLOCATE's stand-in's, the client gets DEALLOCATE in its place
    /// and the statement is gone for the client (DEALLOCATE is not transactional), once the client loop next looks at
    /// its names. True when written here. Pump, under the link lock.
    /// </summary>
    private bool RetaggedLocked(ServerLease lease, in PendingReply head, PipeWriter output)
    {
        if (lease.Replies.TakeCompletion(head) is not { } dropped)
        {
            return false;
        }

        LazyInitializer.EnsureInitialized(ref _deallocated).Enqueue(dropped);
        MessageWriter.WriteCommandComplete(output, Deallocation.CommandTag);
        if (ReplyQueue.Ends(head.To, BackendMessageCode.CommandComplete))
        {
            lease.Replies.Dequeue();
        }

        return true;
    }

    /// <summary>Forgets the names the pump saw deallocated, unless the client prepared the name again since. Client loop.</summary>
    private void ApplyDeallocations()
    {
        var deallocated = Volatile.Read(ref _deallocated);
        while (deallocated is not null && deallocated.TryDequeue(out var dropped))
        {
            if (_clientStatements is { } statements && statements.TryGetValue(dropped.Key, out var current) && current == dropped.Value)
            {
                statements.Remove(dropped.Key);
            }
        }
    }

    /// <summary>DISCARD ALL / DEALLOCATE ALL: what was learned about the client's statements goes too; the next Parse of each asks a server.</summary>
    private void ForgetKnowledgeOfClientStatements()
    {
        foreach (var statement in _clientStatements?.Values ?? Enumerable.Empty<PreparedStatement>())
        {
            statement.ForgetKnowledge();
        }
    }

    /// <summary>
    /// What a statement sent to the server changes for what the proxy knows about statements: DDL (or anything it cannot
    /// read) moves the schema epoch once its transaction is over; a session setting (search_path, a role) makes this
    /// lending's context unknown, so nothing it parses or describes is learned.
    /// </summary>
    private static void NoteStatementEffects(ServerLease lease, ClassificationResult? classification)
    {
        if (classification is null)
        {
            return;
        }

        if (classification.SessionSettings.Count > 0)
        {
            lease.StatementContext = null;
        }

        foreach (var statement in classification.Statements)
        {
            if (ChangesSchema(statement.Kind))
            {
                lease.ChangesSchema = true;
            }
        }
    }

    /// <summary>A ReadyForQuery: once a transaction that ran DDL is over, what servers said about statements before may not hold. Pump.</summary>
    private void SettleSchemaChange(ServerLease lease, TransactionStatus status)
    {
        if (status == TransactionStatus.Idle && lease.ChangesSchema)
        {
            lease.ChangesSchema = false;
            _runtime.PreparedStatements.NoteSchemaChange();
        }
    }
}
