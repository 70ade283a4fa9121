namespace Sluice.Routing.Classification;

/// <summary>
/// Classifies one statement (a token range with balanced parentheses) by its command, looking inside EXPLAIN,
/// COPY (query) and DECLARE CURSOR. Anything it does not recognise is <see cref="StatementRoute.Unknown"/>.
/// </summary>
internal sealed class StatementAnalyzer
{
    /// <summary>EXPLAIN / COPY / DECLARE nest statements; deeper than this is not SQL anyone sends.</summary>
    private const int MaxNesting = 8;

    private readonly ParsedText _text;

    public StatementAnalyzer(ParsedText text) => _text = text;

    public StatementFacts Analyze(int start, int end) => Analyze(start, end, 0);

    /// <summary>READ ONLY / READ WRITE among transaction modes (READ COMMITTED / UNCOMMITTED are isolation levels).</summary>
    public static TransactionAccessMode AccessModeOf(ParsedText text, int start, int end)
    {
        var mode = TransactionAccessMode.Unspecified;
        for (var i = start; i < end; i++)
        {
            if (text.IsWord(i, "read", end))
            {
                if (text.IsWord(i + 1, "only", end))
                {
                    mode = TransactionAccessMode.ReadOnly;
                }
                else if (text.IsWord(i + 1, "write", end))
                {
                    mode = TransactionAccessMode.ReadWrite;
                }
            }
        }

        return mode;
    }

    private StatementFacts Analyze(int start, int end, int nesting)
    {
        if (start >= end)
        {
            return StatementFacts.Unknown("missing statement");
        }

        if (nesting > MaxNesting)
        {
            return StatementFacts.Unknown("statements nested too deeply");
        }

        var tokens = _text.Tokens;
        if (tokens[start].Kind == SqlTokenKind.LeftParen)
        {
            return ParenthesizedQuery(start, end);
        }

        if (tokens[start].Kind != SqlTokenKind.Identifier)
        {
            return StatementFacts.Unknown("statement does not start with a command");
        }

        var command = _text.Name(start);
        return command switch
        {
            "select" => Query(start, end, StatementKind.Select),
            "values" => Query(start, end, StatementKind.Values),
            "table" => Query(start, end, StatementKind.Table),
            "with" => Query(start, end, MainCommandOfWith(start, end)),
            "show" => Show(start, end),
            "explain" => Explain(start, end, nesting),
            "insert" => Modification(start, end, StatementKind.Insert),
            "update" => Modification(start, end, StatementKind.Update),
            "delete" => Modification(start, end, StatementKind.Delete),
            "merge" => Modification(start, end, StatementKind.Merge),
            "truncate" => StatementFacts.Write(StatementKind.Truncate, "TRUNCATE"),
            "copy" => Copy(start, end, nesting),
            "create" => Create(start, end),
            "alter" or "drop" or "grant" or "revoke" or "comment" or "security" or "import" or "reassign"
                => StatementFacts.Write(StatementKind.Ddl, $"DDL ({command.ToUpperInvariant()})"),
            "vacuum" or "analyze" or "analyse" or "cluster" or "reindex" or "refresh" or "checkpoint"
                => StatementFacts.Write(StatementKind.Maintenance, $"maintenance command {command.ToUpperInvariant()}"),
            "call" => Modification(start, end, StatementKind.Call),
            "do" => StatementFacts.Write(StatementKind.Do, "DO runs arbitrary code"),
            "lock" => StatementFacts.Write(StatementKind.Lock, "LOCK"),
            "listen" => StatementFacts.Write(StatementKind.Listen, "LISTEN").WithPins(SessionPinReasons.Listen),
            "unlisten" => StatementFacts.Write(StatementKind.Unlisten, "UNLISTEN"),
            "notify" => StatementFacts.Write(StatementKind.Notify, "NOTIFY"),
            "prepare" => Prepare(start, end),
            "execute" => StatementFacts.Write(StatementKind.Execute, "EXECUTE of a prepared statement whose query is not known here"),
            "deallocate" => Deallocate(start, end),
            "declare" => Declare(start, end, nesting),
            "fetch" => StatementFacts.Read(StatementKind.Fetch),
            "move" => StatementFacts.Read(StatementKind.Move),
            "close" => StatementFacts.Read(StatementKind.Close),
            "load" => StatementFacts.Write(StatementKind.Load, "LOAD"),
            "begin" => Begin(start + 1, end),
            "start" => _text.IsWord(start + 1, "transaction", end)
                ? Begin(start + 2, end)
                : StatementFacts.Unknown("START without TRANSACTION"),
            "commit" => _text.IsWord(start + 1, "prepared", end)
                ? StatementFacts.Write(StatementKind.CommitPrepared, "COMMIT PREPARED")
                : EndOfTransaction(StatementKind.Commit, start, end),
            "end" => EndOfTransaction(StatementKind.Commit, start, end),
            "rollback" => Rollback(start, end),
            "abort" => EndOfTransaction(StatementKind.Rollback, start, end),
            "savepoint" => Savepoint(StatementKind.Savepoint, start + 1, end),
            "release" => Savepoint(StatementKind.ReleaseSavepoint, _text.IsWord(start + 1, "savepoint", end) ? start + 2 : start + 1, end),
            "set" => SessionStatementParser.Set(_text, start, end),
            "reset" => SessionStatementParser.Reset(_text, start, end),
            "discard" => SessionStatementParser.Discard(_text, start, end),
            _ => StatementFacts.Unknown($"unknown command {command.ToUpperInvariant()}"),
        };
    }

    /// <summary>
    /// <c>DEALLOCATE [PREPARE] name</c> drops one prepared statement (named, folded like an identifier);
    /// <c>DEALLOCATE [PREPARE] ALL</c> drops every one, protocol-level ones included. <c>DEALLOCATE prepare</c> names a
    /// statement called "prepare" (PREPARE is an unreserved keyword), as in PostgreSQL's grammar.
    /// </summary>
    private StatementFacts Deallocate(int start, int end)
    {
        var target = _text.IsWord(start + 1, "prepare", end) && start + 2 < end ? start + 2 : start + 1;
        var facts = StatementFacts.Write(StatementKind.Deallocate, "DEALLOCATE");
        facts.DeallocatesAll = _text.IsWord(target, "all", end);
        if (!facts.DeallocatesAll && target + 1 == end && _text.Tokens[target].IsName)
        {
            facts.DeallocatedName = _text.Name(target);
        }

        return facts;
    }

    /// <summary><c>(SELECT ...) UNION (SELECT ...)</c>, <c>((VALUES (1)))</c>.</summary>
    private StatementFacts ParenthesizedQuery(int start, int end)
    {
        var first = start;
        while (first < end && _text.Tokens[first].Kind == SqlTokenKind.LeftParen)
        {
            first++;
        }

        return _text.IsWord(first, "select", end) || _text.IsWord(first, "values", end)
            || _text.IsWord(first, "table", end) || _text.IsWord(first, "with", end)
            ? Query(start, end, StatementKind.Select)
            : StatementFacts.Unknown("parenthesized statement that is not a query");
    }

    private StatementFacts Query(int start, int end, StatementKind kind) =>
        StatementFacts.Of(kind, QueryScanner.Scan(_text, start, end, ScanMode.Query));

    /// <summary>INSERT / UPDATE / DELETE / MERGE / CALL: writes; only session pinning is looked for.</summary>
    private StatementFacts Modification(int start, int end, StatementKind kind)
    {
        var verdict = QueryScanner.Scan(_text, start, end, ScanMode.PinsOnly);
        var facts = StatementFacts.Write(kind, kind.ToString().ToUpperInvariant()).WithPins(verdict.Pins);
        facts.Settings = verdict.Settings;
        return facts;
    }

    /// <summary>The statement a WITH leads to: the first command word at the WITH's own parenthesis level.</summary>
    private StatementKind MainCommandOfWith(int start, int end)
    {
        var depth = _text.Tokens[start].Depth;
        for (var i = start + 1; i < end; i++)
        {
            if (_text.Tokens[i].Depth != depth || _text.Tokens[i].Kind != SqlTokenKind.Identifier)
            {
                continue;
            }

            if (_text.IsWord(i, "select", end))
            {
                return StatementKind.Select;
            }

            if (_text.IsWord(i, "insert", end))
            {
                return StatementKind.Insert;
            }

            if (_text.IsWord(i, "update", end))
            {
                return StatementKind.Update;
            }

            if (_text.IsWord(i, "delete", end))
            {
                return StatementKind.Delete;
            }

            if (_text.IsWord(i, "merge", end))
            {
                return StatementKind.Merge;
            }

            if (_text.IsWord(i, "values", end))
            {
                return StatementKind.Values;
            }

            if (_text.IsWord(i, "table", end))
            {
                return StatementKind.Table;
            }
        }

        return StatementKind.Select;
    }

    private StatementFacts Show(int start, int end)
    {
        var facts = StatementFacts.Read(StatementKind.Show);
        if (SessionStatementParser.IsSluiceRoute(_text, start + 1, end, out var after) && after == end)
        {
            facts.SessionRoute = SessionRouteCommand.Show;
        }

        return facts;
    }

    /// <summary>EXPLAIN is a read unless it runs its statement (ANALYZE): then it is what the statement is.</summary>
    private StatementFacts Explain(int start, int end, int nesting)
    {
        var i = start + 1;
        var analyze = false;
        if (_text.IsKind(i, SqlTokenKind.LeftParen, end))
        {
            var close = _text.Match(i);
            if (close < 0 || close >= end)
            {
                return StatementFacts.Unknown("EXPLAIN with an unclosed option list", StatementKind.Explain);
            }

            analyze = ExplainOptionsAnalyze(i + 1, close);
            i = close + 1;
        }
        else
        {
            while (_text.IsWord(i, "analyze", end) || _text.IsWord(i, "analyse", end) || _text.IsWord(i, "verbose", end))
            {
                analyze |= !_text.IsWord(i, "verbose", end);
                i++;
            }
        }

        var inner = Analyze(i, end, nesting + 1);
        if (inner.Route == StatementRoute.Unknown)
        {
            return StatementFacts.Unknown(inner.Reason ?? "EXPLAIN of an unknown statement", StatementKind.Explain);
        }

        if (!analyze)
        {
            return StatementFacts.Read(StatementKind.Explain);
        }

        // The statement runs: what its set_config calls set stays set.
        inner.Kind = StatementKind.Explain;
        inner.SessionRoute = SessionRouteCommand.None;
        if (inner.Route == StatementRoute.Write)
        {
            inner.Reason = $"EXPLAIN ANALYZE runs the statement: {inner.Reason}";
        }

        return inner;
    }

    /// <summary>Whether an EXPLAIN option list turns ANALYZE on (<c>ANALYZE</c>, <c>ANALYZE true</c>, but not <c>ANALYZE off</c>).</summary>
    private bool ExplainOptionsAnalyze(int start, int close)
    {
        var analyze = false;
        var i = start;
        while (i < close)
        {
            var optionEnd = i;
            while (optionEnd < close && _text.Tokens[optionEnd].Kind != SqlTokenKind.Comma)
            {
                optionEnd++;
            }

            if (_text.IsWord(i, "analyze", optionEnd) || _text.IsWord(i, "analyse", optionEnd))
            {
                analyze = optionEnd == i + 1 || !IsFalse(i + 1, optionEnd);
            }

            i = optionEnd + 1;
        }

        return analyze;
    }

    private bool IsFalse(int i, int end)
    {
        if (i + 1 != end)
        {
            return false;
        }

        var token = _text.Tokens[i];
        if (!token.IsName && !token.IsStringLiteral && token.Kind != SqlTokenKind.Number)
        {
            return false;
        }

        return _text.Value(i).ToLowerInvariant() is "false" or "off" or "0" or "no";
    }

    /// <summary>
    /// COPY ... FROM writes. COPY ... TO STDOUT reads (its query decides for COPY (query) TO). COPY ... TO a file or
    /// PROGRAM acts on the server host, so it goes to the primary.
    /// </summary>
    private StatementFacts Copy(int start, int end, int nesting)
    {
        var tokens = _text.Tokens;
        var i = start + 1;
        StatementFacts? query = null;
        if (_text.IsKind(i, SqlTokenKind.LeftParen, end))
        {
            var close = _text.Match(i);
            if (close < 0 || close >= end)
            {
                return StatementFacts.Unknown("COPY with an unclosed query", StatementKind.Copy);
            }

            query = Analyze(i + 1, close, nesting + 1);
            i = close + 1;
        }
        else
        {
            if (i >= end || !tokens[i].IsName)
            {
                return StatementFacts.Unknown("COPY without a table", StatementKind.Copy);
            }

            i++;
            while (i + 1 < end && tokens[i].Kind == SqlTokenKind.Dot && tokens[i + 1].IsName)
            {
                i += 2;
            }

            if (_text.IsKind(i, SqlTokenKind.LeftParen, end))
            {
                var close = _text.Match(i);
                if (close < 0 || close >= end)
                {
                    return StatementFacts.Unknown("COPY with an unclosed column list", StatementKind.Copy);
                }

                i = close + 1;
            }
        }

        if (_text.IsWord(i, "from", end))
        {
            return StatementFacts.Write(StatementKind.Copy, "COPY FROM writes a table");
        }

        if (!_text.IsWord(i, "to", end))
        {
            return StatementFacts.Unknown("COPY without FROM or TO", StatementKind.Copy);
        }

        if (i + 1 >= end)
        {
            return StatementFacts.Unknown("COPY TO without a destination", StatementKind.Copy);
        }

        if (!_text.IsWord(i + 1, "stdout", end))
        {
            return StatementFacts.Write(StatementKind.Copy, "COPY TO a server file or program");
        }

        if (query is null)
        {
            return StatementFacts.Read(StatementKind.Copy);
        }

        if (query.Route == StatementRoute.Unknown)
        {
            return StatementFacts.Unknown(query.Reason ?? "COPY of an unknown statement", StatementKind.Copy);
        }

        query.Kind = StatementKind.Copy;
        query.SessionRoute = SessionRouteCommand.None;
        return query;
    }

    /// <summary>CREATE is DDL; CREATE TEMP TABLE / VIEW / SEQUENCE (not ON COMMIT DROP) also pins the session.</summary>
    private StatementFacts Create(int start, int end)
    {
        var facts = StatementFacts.Write(StatementKind.Ddl, "DDL (CREATE)");
        var i = start + 1;
        if (_text.IsWord(i, "or", end) && _text.IsWord(i + 1, "replace", end))
        {
            i += 2;
        }

        if (_text.IsWord(i, "global", end) || _text.IsWord(i, "local", end))
        {
            i++;
        }

        var temporary = false;
        if (_text.IsWord(i, "temp", end) || _text.IsWord(i, "temporary", end))
        {
            temporary = true;
            i++;
        }

        if (_text.IsWord(i, "unlogged", end))
        {
            i++;
        }

        if (_text.IsWord(i, "recursive", end))
        {
            i++;
        }

        var isTable = _text.IsWord(i, "table", end);
        if (!isTable && !_text.IsWord(i, "view", end) && !_text.IsWord(i, "sequence", end))
        {
            return facts;
        }

        var name = i + 1;
        if (_text.IsWord(name, "if", end) && _text.IsWord(name + 1, "not", end) && _text.IsWord(name + 2, "exists", end))
        {
            name += 3;
        }

        temporary |= name + 1 < end && _text.Tokens[name].IsName && _text.Tokens[name + 1].Kind == SqlTokenKind.Dot
            && _text.Name(name) == "pg_temp";
        if (temporary && !(isTable && HasOnCommitDrop(name, end)))
        {
            facts.Pins |= SessionPinReasons.TemporaryTable;
        }

        return facts;
    }

    private bool HasOnCommitDrop(int start, int end)
    {
        var depth = _text.Tokens[start].Depth;
        for (var i = start; i + 2 < end; i++)
        {
            if (_text.Tokens[i].Depth == depth && _text.IsWord(i, "on", end) && _text.IsWord(i + 1, "commit", end)
                && _text.IsWord(i + 2, "drop", end))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>PREPARE TRANSACTION 'id' (two-phase commit) or PREPARE name AS statement (pins the session).</summary>
    private StatementFacts Prepare(int start, int end)
    {
        if (_text.IsWord(start + 1, "transaction", end) && start + 2 < end && _text.Tokens[start + 2].IsStringLiteral)
        {
            return StatementFacts.Write(StatementKind.PrepareTransaction, "PREPARE TRANSACTION");
        }

        return StatementFacts.Write(StatementKind.Prepare, "PREPARE creates a prepared statement on the server")
            .WithPins(SessionPinReasons.PreparedStatement);
    }

    /// <summary>DECLARE name [options] CURSOR [WITH|WITHOUT HOLD] FOR query: routed like its query.</summary>
    private StatementFacts Declare(int start, int end, int nesting)
    {
        var depth = _text.Tokens[start].Depth;
        var cursor = -1;
        for (var i = start + 1; i < end; i++)
        {
            if (_text.Tokens[i].Depth == depth && _text.IsWord(i, "cursor", end))
            {
                cursor = i;
                break;
            }
        }

        var forIndex = -1;
        for (var i = cursor + 1; cursor > 0 && i < end; i++)
        {
            if (_text.IsWord(i, "for", end))
            {
                forIndex = i;
                break;
            }
        }

        if (forIndex < 0)
        {
            return StatementFacts.Unknown("DECLARE without CURSOR ... FOR", StatementKind.Declare);
        }

        var withHold = false;
        for (var i = cursor + 1; i + 1 < forIndex; i++)
        {
            withHold |= _text.IsWord(i, "with", end) && _text.IsWord(i + 1, "hold", end);
        }

        var query = Analyze(forIndex + 1, end, nesting + 1);
        if (query.Route == StatementRoute.Unknown)
        {
            return StatementFacts.Unknown(query.Reason ?? "DECLARE of an unknown query", StatementKind.Declare);
        }

        query.Kind = StatementKind.Declare;
        query.SessionRoute = SessionRouteCommand.None;
        if (query.Settings is not null)
        {
            // Whether (and when) the cursor's set_config calls run depends on the FETCHes that follow.
            query.Settings = null;
            query.Pins |= SessionPinReasons.UntrackedSetting;
        }

        return withHold ? query.WithPins(SessionPinReasons.HoldCursor) : query;
    }

    /// <summary>BEGIN / START TRANSACTION: a read only when READ ONLY (the proxy may then run the block on a replica).</summary>
    private StatementFacts Begin(int modesStart, int end)
    {
        if (_text.IsWord(modesStart, "work", end) || _text.IsWord(modesStart, "transaction", end))
        {
            modesStart++;
        }

        var mode = AccessModeOf(_text, modesStart, end);
        var facts = mode == TransactionAccessMode.ReadOnly
            ? StatementFacts.Read(StatementKind.Begin)
            : StatementFacts.Write(StatementKind.Begin, "BEGIN without READ ONLY");
        facts.AccessMode = mode;
        return facts;
    }

    private StatementFacts Rollback(int start, int end)
    {
        var i = start + 1;
        if (_text.IsWord(i, "prepared", end))
        {
            return StatementFacts.Write(StatementKind.RollbackPrepared, "ROLLBACK PREPARED");
        }

        if (_text.IsWord(i, "work", end) || _text.IsWord(i, "transaction", end))
        {
            i++;
        }

        if (!_text.IsWord(i, "to", end))
        {
            return EndOfTransaction(StatementKind.Rollback, start, end);
        }

        return Savepoint(StatementKind.RollbackToSavepoint, _text.IsWord(i + 1, "savepoint", end) ? i + 2 : i + 1, end);
    }

    /// <summary>COMMIT / END / ROLLBACK / ABORT [WORK | TRANSACTION] [AND [NO] CHAIN].</summary>
    private StatementFacts EndOfTransaction(StatementKind kind, int start, int end)
    {
        var facts = StatementFacts.Read(kind);
        facts.AndChain = end - start >= 3 && _text.IsWord(end - 2, "and", end) && _text.IsWord(end - 1, "chain", end);
        return facts;
    }

    /// <summary>SAVEPOINT name, RELEASE [SAVEPOINT] name, ROLLBACK TO [SAVEPOINT] name: the name at <paramref name="name"/>.</summary>
    private StatementFacts Savepoint(StatementKind kind, int name, int end)
    {
        var facts = StatementFacts.Read(kind);
        if (name + 1 == end && _text.Tokens[name].IsName)
        {
            facts.SavepointName = _text.Name(name);
        }

        return facts;
    }
}
