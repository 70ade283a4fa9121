using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Sluice.Protocol.Framing;
using Sluice.Protocol.Messages;
using Sluice.Proxy.Configuration;
using Sluice.Proxy.Servers;
using Sluice.Proxy.Statements;
using Sluice.Routing.Classification;

namespace Sluice.Proxy.Clients;

/// <summary>
/// What the client loop learns from a message before forwarding it: the SQL's classification (session settings,
/// pinning, transaction control) and statement names to rename in transaction mode.
/// </summary>
internal readonly record struct Inspection(
    ClassificationResult? Classification = null,
    ParseMessage? Parse = null,
    string? Portal = null,
    string? StatementName = null,
    byte TargetKind = 0,
    int PrefixLength = 0,
    LocalAnswer? LocalAnswer = null);

/// <summary>A reply the proxy gives itself instead of a server (a refused BEGIN in statement mode, SET sluice.route).</summary>
internal sealed record LocalAnswer(
    string? CommandTag,
    string? ErrorSqlState = null,
    string? ErrorMessage = null,
    (string Column, string Value)? Row = null,
    BlockEffect Block = BlockEffect.None,
    string? Forgets = null);

/// <summary>What an answer does about a transaction block in statement mode, where no block may run on a server.</summary>
internal enum BlockEffect : byte
{
    None,

    /// <summary>Refused with 0A000: answered by the proxy, or failed on the lent server in the message's place.</summary>
    Refuse,

    /// <summary>
    /// A lone BEGIN in a simple Query. With nothing behind it, refused like the rest. With messages pipelined behind it
    /// (Npgsql sends its BeginTransaction this way, and breaks its connection when that BEGIN fails), it opens a refused
    /// block instead: what the client meant to run inside it fails with 0A000, and never runs outside a transaction.
    /// </summary>
    OpenOrRefuse,

    /// <summary>COMMIT / ROLLBACK of a refused block: answered (ROLLBACK once the block failed), the client is idle again.</summary>
    End,
}

internal sealed partial class ClientSession
{
    private const string BlockRefusalMessage =
        "transaction blocks are not allowed in statement pooling mode (pool_mode = statement): each statement runs on its own";

    private static readonly LocalAnswer BlockRefusal = new(null, SqlState.FeatureNotSupported, BlockRefusalMessage, Block: BlockEffect.Refuse);
    private static readonly LocalAnswer BlockRefusalOrOpening = BlockRefusal with { Block = BlockEffect.OpenOrRefuse };

    // Fails on a server with the refusal's own SQLSTATE and message (DO: plpgsql, installed in every database by default).
    private static readonly string RefusalOnServerSql =
        $"DO $sluice$BEGIN RAISE EXCEPTION USING ERRCODE = '{SqlState.FeatureNotSupported}', MESSAGE = '{BlockRefusalMessage.Replace("'", "''", StringComparison.Ordinal)}'; END$sluice$";

    // The client's statement names and what they stand for; made at its first named Parse (most clients never send one).
    private Dictionary<string, PreparedStatement>? _clientStatements;

    private long _lastActivity;
    private string? _lastStatementText;
    private List<KeyValuePair<string, string>>? _restoreAfterExecute;
    private LocalAnswer? _localExtended;

    // Statement mode: the refused transaction block the client believes it is in (Idle: none). InTransaction until its
    // first statement is refused, Failed after; the client's COMMIT or ROLLBACK ends it.
    private TransactionStatus _refusedBlock = TransactionStatus.Idle;

    private volatile bool _pinned;
    private SessionPinReasons _pinReasons;

    // Session settings sent and not yet settled by the server's replies; what the next Execute runs.
    private readonly SessionSettingsJournal _settingsJournal = new();
    private ClassificationResult? _unnamedStatement;
    private ClassificationResult? _boundStatement;
    private bool _settingsInDoubt;

    /// <summary>Why this client is tied to its server (LISTEN, advisory lock, …), for SHOW CLIENTS; None when it is not.</summary>
    public SessionPinReasons PinReasons => _pinReasons;

    public bool IsPinned => _pinned;

    /// <summary>Transaction and statement modes rename named statements onto the shared, server-side copies.</summary>
    private bool Renaming => _policy?.RenamesStatements == true;

    private static bool IsNamed(string? name) => !string.IsNullOrEmpty(name);

    private bool TryGetClientStatement(string? name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out PreparedStatement? statement)
    {
        statement = null;
        return IsNamed(name) && _clientStatements is { } statements && statements.TryGetValue(name!, out statement);
    }

    /// <summary>NeedMoreData when the part of the message that must be looked at has not arrived yet.</summary>
    private ReadStatus TryInspect(FrontendMessageCode code, FrameHeader header, ReadOnlySequence<byte> buffer, out Inspection inspection)
    {
        inspection = default;
        ApplyDeallocations();
        switch (code)
        {
            case FrontendMessageCode.Query or FrontendMessageCode.Parse or FrontendMessageCode.Close or FrontendMessageCode.Describe
                when header.FrameLength <= MaxInspectedLength:
                if (buffer.Length < header.FrameLength)
                {
                    return ReadStatus.NeedMoreData;
                }

                inspection = Inspect(code, buffer.Slice(FrameHeader.Size, header.PayloadLength));
                return ReadStatus.Ok;
            case FrontendMessageCode.Bind when Renaming:
                var available = buffer.Slice(FrameHeader.Size, Math.Min(buffer.Length, header.FrameLength) - FrameHeader.Size);
                if (FrontendMessageReader.TryReadBindNames(available, out var portal, out var statement))
                {
                    var prefix = FrameHeader.Size + Encoding.UTF8.GetByteCount(portal) + 1 + Encoding.UTF8.GetByteCount(statement) + 1;
                    inspection = new Inspection(Portal: portal, StatementName: statement, PrefixLength: prefix);
                    return ReadStatus.Ok;
                }

                // A Bind too short to hold both names is forwarded for the server to refuse.
                return buffer.Length < header.FrameLength ? ReadStatus.NeedMoreData : ReadStatus.Ok;
            default:
                return ReadStatus.Ok;
        }
    }

    private Inspection Inspect(FrontendMessageCode code, ReadOnlySequence<byte> payload)
    {
        switch (code)
        {
            case FrontendMessageCode.Query:
                var classification = Classify(payload);
                if (_policy!.SlowStatementLog > TimeSpan.Zero)
                {
                    // Kept only when the slow-statement log is on: it costs a string per query.
                    _lastStatementText = SlowLogText(payload);
                }

                return new Inspection(classification, LocalAnswer: LocalAnswerFor(classification) ?? DeallocationAnswer(classification, extended: false));
            case FrontendMessageCode.Parse:
                var parse = FrontendMessageReader.ReadParse(payload);
                _lastStatementText = parse.Query;
                var parsed = _runtime.Classifier.Classify(parse.Query);
                return new Inspection(parsed, parse, StatementName: parse.StatementName, LocalAnswer: LocalAnswerFor(parsed) ?? DeallocationAnswer(parsed, extended: true));
            default:
                var (kind, name) = FrontendMessageReader.ReadCloseOrDescribe(payload);
                return new Inspection(StatementName: name, TargetKind: kind);
        }
    }

    private static string SlowLogText(ReadOnlySequence<byte> payload)
    {
        const int MaxLogged = 300;
        var text = Encoding.UTF8.GetString(payload.Slice(0, Math.Min(payload.Length, MaxLogged)).ToArray()).TrimEnd('\0');
        return payload.Length > MaxLogged ? text + "…" : text;
    }

    private ClassificationResult Classify(ReadOnlySequence<byte> payload)
    {
        if (payload.IsSingleSegment)
        {
            return _runtime.Classifier.ClassifyUtf8(payload.FirstSpan);
        }

        var length = (int)payload.Length;
        var rented = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            payload.CopyTo(rented);
            return _runtime.Classifier.ClassifyUtf8(rented.AsSpan(0, length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

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

    /// <summary>
    /// DISCARD/DEALLOCATE and pinning, as the statement will change them on the server. Returns the client's startup
    /// settings a RESET / RESET ALL / DISCARD ALL takes back to the server's defaults: PostgreSQL would return to the
    /// values the client logged in with, and those are SET values on a shared server. The settings themselves become
    /// the client's only once the server says they stuck (<see cref="SettleSessionSettingsLocked"/>).
    /// </summary>
    private List<KeyValuePair<string, string>>? ApplySessionEffects(ServerConnection server, ClassificationResult classification)
    {
        if (classification.PinsSession)
        {
            Pin(classification.PinReasons);
        }

        List<KeyValuePair<string, string>>? restore = null;
        foreach (var setting in classification.SessionSettings)
        {
            switch (setting.Kind)
            {
                case SessionSettingKind.Set when setting.Name is { } name && !SessionParameters.IsSyncable(name):
                    // SET SESSION AUTHORIZATION: an identity is not something to set on the next server behind the
                    // client's back, nor to leave to the next client.
                    Pin(SessionPinReasons.UntrackedSetting);
                    break;
                case SessionSettingKind.Reset when setting.Name is { } name:
                    foreach (var startup in _parameters.StartupSettings)
                    {
                        if (string.Equals(startup.Key, name, StringComparison.OrdinalIgnoreCase))
                        {
                            (restore ??= []).Add(startup);
                        }
                    }

                    break;
                case SessionSettingKind.ResetAll:
                case SessionSettingKind.DiscardAll:
                    if (setting.Kind == SessionSettingKind.DiscardAll)
                    {
                        ForgetStatements(server);
                    }

                    (restore ??= []).AddRange(_parameters.StartupSettings);
                    break;
            }
        }

        foreach (var statement in classification.Statements)
        {
            if (statement is { Kind: StatementKind.Deallocate, DeallocatesAll: true })
            {
                // DEALLOCATE ALL empties the server's statements, the shared copies included. DEALLOCATE name drops
                // a SQL-level PREPARE'd statement (which pinned the client), never one of the renamed shared copies.
                ForgetStatements(server);
            }
        }

        return restore is { Count: > 0 } ? restore : null;
    }

    /// <summary>Ties the client to its server until it leaves (transaction and statement modes).</summary>
    private void Pin(SessionPinReasons reasons)
    {
        if (Mode == PoolMode.Session)
        {
            return;
        }

        // Later reasons are kept too, so SHOW CLIENTS lists everything that holds the server; the log says it once.
        _pinReasons |= reasons;
        if (!_pinned)
        {
            _pinned = true;
            LogPinned(_logger, _userName, _databaseName, RemoteAddress, reasons.ToString());
        }
    }

    /// <summary>
    /// Records what the message will do to session settings, in the order the server runs it: a Query's statements, an
    /// Execute's (those of the statement its Bind named), and the end of a batch (Query, FunctionCall, Sync), which one
    /// ReadyForQuery answers.
    /// </summary>
    private void JournalSessionSettings(ServerConnection server, FrontendMessageCode code, in Inspection inspection)
    {
        switch (code)
        {
            case FrontendMessageCode.Query:
                lock (_linkLock)
                {
                    _settingsJournal.AddStatements(inspection.Classification, server.ReportedParameters);
                    _settingsJournal.EndBatch();
                }

                break;
            case FrontendMessageCode.FunctionCall:
                lock (_linkLock)
                {
                    _settingsJournal.Add(JournalEntry.Other);
                    _settingsJournal.EndBatch();
                }

                break;
            case FrontendMessageCode.Sync:
                lock (_linkLock)
                {
                    _settingsJournal.EndBatch();
                }

                break;
            case FrontendMessageCode.Parse:
                _settingsJournal.Add(JournalEntry.FailurePoint);
                if (inspection.Parse is not { } parse)
                {
                    // Too large to look at: whether it replaced the unnamed statement is not known.
                    _unnamedStatement = null;
                }
                else if (!IsNamed(parse.StatementName))
                {
                    _unnamedStatement = inspection.Classification;
                }

                break;
            case FrontendMessageCode.Bind:
                _settingsJournal.Add(JournalEntry.FailurePoint);
                _boundStatement = !IsNamed(inspection.StatementName) ? _unnamedStatement
                    : TryGetClientStatement(inspection.StatementName, out var named) ? named.Classification
                    : null;
                break;
            case FrontendMessageCode.Execute:
                _settingsJournal.AddStatements(_boundStatement, server.ReportedParameters);
                break;
            case FrontendMessageCode.Describe or FrontendMessageCode.Close:
                _settingsJournal.Add(JournalEntry.FailurePoint);
                break;
            default:
                break;
        }
    }

    /// <summary>
    /// The server answered a batch (ReadyForQuery): the settings that stuck become the client's and the server's, the
    /// ones rolled back are forgotten. When the replies cannot tell (an error in a batch that also committed), the client
    /// stays on this server, which knows, and the next client of the server gets those settings set or reset whatever
    /// they are. Pump, under _linkLock.
    /// </summary>
    private void SettleSessionSettingsLocked(ServerConnection server, TransactionStatus status)
    {
        var outcome = _settingsJournal.ReadyForQuery(status);
        if (outcome.InDoubt)
        {
            _settingsInDoubt = true;
            MarkSettingsUnknown(server, outcome.Touched!);
            Pin(SessionPinReasons.UntrackedSetting);
            return;
        }

        if (outcome.Committed.Count == 0)
        {
            return;
        }

        foreach (var setting in outcome.Committed)
        {
            _parameters.Apply(setting, server.ReportedParameters.ContainsKey);
        }

        if (_settingsInDoubt)
        {
            MarkSettingsUnknown(server, outcome.Committed);
            return;
        }

        // While lent, the server has exactly the client's settings (the sync made them so): it keeps them.
        server.UnreportedSettings.Clear();
        foreach (var (name, value) in _parameters.Values)
        {
            if (!server.ReportedParameters.ContainsKey(name))
            {
                server.UnreportedSettings[name] = value;
            }
        }
    }

    /// <summary>The server gets back from this client with settings in flight: nobody knows whether they stuck.</summary>
    private void AbandonSessionSettings(ServerConnection server)
    {
        List<SessionSetting> unsettled;
        lock (_linkLock)
        {
            unsettled = _settingsJournal.TakeUnsettled();
        }

        MarkSettingsUnknown(server, unsettled);
    }

    /// <summary>The next client of the server sets or resets these whatever it has.</summary>
    private static void MarkSettingsUnknown(ServerConnection server, IEnumerable<SessionSetting> settings)
    {
        foreach (var setting in settings)
        {
            if (setting.Kind is SessionSettingKind.ResetAll or SessionSettingKind.DiscardAll)
            {
                foreach (var name in server.UnreportedSettings.Keys.ToList())
                {
                    server.UnreportedSettings[name] = SessionParameters.UnknownValue;
                }
            }
            else if (setting.Name is { } name && !server.ReportedParameters.ContainsKey(name))
            {
                server.UnreportedSettings[name] = SessionParameters.UnknownValue;
            }
        }
    }

    /// <summary>
    /// Puts the client's startup settings back after its reset, with replies the client never sees: a simple Query
    /// after a simple Query, or Parse/Bind/Execute/Close inside an extended-protocol batch (its own Sync ends it).
    /// </summary>
    private void InjectRestore(ServerLease lease, List<KeyValuePair<string, string>> settings, bool simpleQuery)
    {
        var server = lease.Server;
        var sql = SessionParameters.SetConfigSql(settings);
        var output = server.Connection.Output;
        lock (_linkLock)
        {
            if (simpleQuery)
            {
                MessageWriter.WriteQuery(output, sql);
                lease.Replies.Enqueue(new PendingReply(ReplyTo.Query, ReplyAction.Swallow));
                lease.PendingReady++;
                _settingsJournal.AddSettings(settings, server.ReportedParameters);
                _settingsJournal.EndBatch();
            }
            else
            {
                const string Name = "sluice_restore";
                MessageWriter.WriteParse(output, Name, sql, []);
                MessageWriter.WriteBind(output, "", Name);
                MessageWriter.WriteExecute(output, "");
                MessageWriter.WriteClose(output, (byte)'S', Name);
                lease.Replies.Enqueue(new PendingReply(ReplyTo.Parse, ReplyAction.Swallow));
                lease.Replies.Enqueue(new PendingReply(ReplyTo.Bind, ReplyAction.Swallow));
                lease.Replies.Enqueue(new PendingReply(ReplyTo.Execute, ReplyAction.Swallow));
                lease.Replies.Enqueue(new PendingReply(ReplyTo.Close, ReplyAction.Swallow));
                _settingsJournal.AddSettings(settings, server.ReportedParameters);
            }
        }
    }

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
