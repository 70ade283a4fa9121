using System.Buffers;
using System.Text;
using Sluice.Protocol.Framing;
using Sluice.Protocol.Messages;
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
}
