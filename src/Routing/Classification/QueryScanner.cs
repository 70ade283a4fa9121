namespace Sluice.Routing.Classification;

/// <summary>How much a <see cref="QueryScanner"/> pass looks for.</summary>
internal enum ScanMode
{
    /// <summary>A query that may be a read: find every reason it is not (write keywords, locking, INTO, calls).</summary>
    Query,

    /// <summary>A statement that writes anyway: only find session-pinning calls (advisory locks).</summary>
    PinsOnly,
}

/// <summary>What a scan found.</summary>
internal struct ScanVerdict
{
    public bool Writes;
    public string? Reason;
    public SessionPinReasons Pins;

    /// <summary>Session settings changed by <c>set_config(..., false)</c> calls, in text order.</summary>
    public List<SessionSetting>? Settings;
}

/// <summary>
/// Scans the tokens of a query (SELECT / VALUES / TABLE / WITH, at any nesting) for anything that makes it a write:
/// data-modifying statements anywhere (writable CTEs, however nested), row-locking clauses, SELECT INTO, and calls
/// of functions that are not known to be read-only. It tells function calls apart from keywords followed by
/// parentheses, type modifiers (<c>varchar(10)</c>, <c>::numeric(10,2)</c>), alias column lists
/// (<c>FROM f() AS g(a)</c>, <c>(VALUES ...) v(a)</c>) and CTE column lists by tracking, per parenthesis level, what
/// opened it and which clause it is in. Doubt always resolves to "function call".
/// </summary>
/// <remarks>
/// What it cannot see: volatile functions behind views or called through attribute notation (<c>t.f</c>), and
/// operators implemented by volatile functions. Those need <c>/* sluice:primary */</c>.
/// </remarks>
internal sealed class QueryScanner
{
    private readonly ParsedText _text;
    private readonly SqlToken[] _tokens;
    private readonly int _start;
    private readonly int _end;
    private readonly ScanMode _mode;
    private Frame[] _frames = new Frame[8];
    private int _top;
    private FrameKind _nextOpener;
    private bool _typeExpected;
    private bool _typeStarted;
    private ScanVerdict _verdict;

    private QueryScanner(ParsedText text, int start, int end, ScanMode mode)
    {
        _text = text;
        _tokens = text.Tokens;
        _start = start;
        _end = end;
        _mode = mode;
    }

    private enum FrameKind : byte
    {
        Group,
        FunctionArguments,
        TypeModifier,
    }

    private enum Clause : byte
    {
        None,
        With,
        From,
        GroupBy,
        Other,
    }

    private ref Frame Current => ref _frames[_top];

    /// <summary>Scans tokens [<paramref name="start"/>, <paramref name="end"/>) of a statement with balanced parentheses.</summary>
    public static ScanVerdict Scan(ParsedText text, int start, int end, ScanMode mode) => new QueryScanner(text, start, end, mode).Run();

    private ScanVerdict Run()
    {
        var i = _start;
        while (i < _end)
        {
            switch (_tokens[i].Kind)
            {
                case SqlTokenKind.LeftParen:
                    Push(_nextOpener);
                    _nextOpener = FrameKind.Group;
                    _typeExpected = false;
                    i++;
                    break;
                case SqlTokenKind.RightParen:
                    if (_top > 0)
                    {
                        _top--;
                    }

                    _nextOpener = FrameKind.Group;
                    _typeExpected = false;
                    i++;
                    break;
                case SqlTokenKind.Typecast:
                    _typeExpected = true;
                    _typeStarted = false;
                    _nextOpener = FrameKind.Group;
                    i++;
                    break;
                case SqlTokenKind.Identifier or SqlTokenKind.QuotedIdentifier:
                    i = OnName(i);
                    break;
                case SqlTokenKind.Dot:
                    i++;
                    break;
                default:
                    _typeExpected = false;
                    _nextOpener = FrameKind.Group;
                    i++;
                    break;
            }
        }

        return _verdict;
    }

    private void Push(FrameKind kind)
    {
        if (++_top == _frames.Length)
        {
            Array.Resize(ref _frames, _frames.Length * 2);
        }

        _frames[_top] = new Frame(kind, Clause.None);
    }

    /// <summary>Handles a name or qualified name (<c>a.b.c</c>) starting at <paramref name="first"/>; returns the next index.</summary>
    private int OnName(int first)
    {
        var last = first;
        while (last + 2 < _end && _tokens[last + 1].Kind == SqlTokenKind.Dot && _tokens[last + 2].IsName)
        {
            last += 2;
        }

        var qualified = last > first;
        var next = last + 1;
        var followedByParen = next < _end && _tokens[next].Kind == SqlTokenKind.LeftParen;
        var bareWord = !qualified && _tokens[first].Kind == SqlTokenKind.Identifier;
        _nextOpener = FrameKind.Group;

        if (_typeExpected)
        {
            if (!_typeStarted || (bareWord && _text.IsWordIn(first, Keywords.TypeNameWords, _end)))
            {
                _typeStarted = true;
                if (followedByParen)
                {
                    _nextOpener = FrameKind.TypeModifier;
                }

                return next;
            }

            _typeExpected = false;
        }

        if (bareWord && OnKeyword(first))
        {
            return next;
        }

        if (followedByParen && IsFunctionCall(first, last, qualified))
        {
            OnFunctionCall(first, last, qualified);
            _nextOpener = FrameKind.FunctionArguments;
        }

        return next;
    }

    /// <summary>Acts on a keyword; returns true when the word is a keyword that never names a function.</summary>
    private bool OnKeyword(int i)
    {
        if (IsWord(i, "insert") || IsWord(i, "update") || IsWord(i, "delete") || IsWord(i, "merge"))
        {
            MarkWrite($"data-modifying {_text.Text(i).ToString().ToUpperInvariant()} inside the query");
            return true;
        }

        if (IsWord(i, "for"))
        {
            if (IsWord(i + 1, "update") || IsWord(i + 1, "share") || IsWord(i + 1, "no") || IsWord(i + 1, "key"))
            {
                MarkWrite("row-locking clause (FOR UPDATE/SHARE)");
            }

            return true;
        }

        if (IsWord(i, "into"))
        {
            if (!IsWord(i - 1, "insert") && !IsWord(i - 1, "merge"))
            {
                MarkWrite("SELECT INTO creates a table");
                if (_mode == ScanMode.Query && IntoTemporary(i + 1))
                {
                    _verdict.Pins |= SessionPinReasons.TemporaryTable;
                }
            }

            return true;
        }

        if (Current.Kind != FrameKind.FunctionArguments)
        {
            TrackClause(i);
        }

        return _text.IsWordIn(i, Keywords.NotFunctions, _end);
    }

    private void TrackClause(int i)
    {
        if (IsWord(i, "from"))
        {
            // IS [NOT] DISTINCT FROM is an operator, not a clause.
            if (!IsWord(i - 1, "distinct"))
            {
                Current.Clause = Clause.From;
            }
        }
        else if (IsWord(i, "join"))
        {
            Current.Clause = Clause.From;
        }
        else if (IsWord(i, "with"))
        {
            // WITH ORDINALITY follows a function in a FROM clause; any other WITH here starts a CTE list.
            if (Current.Clause != Clause.From)
            {
                Current.Clause = Clause.With;
            }
        }
        else if (IsWord(i, "group"))
        {
            // WITHIN GROUP (ORDER BY ...) belongs to an aggregate call.
            if (!IsWord(i - 1, "within"))
            {
                Current.Clause = Clause.GroupBy;
            }
        }
        else if (IsWord(i, "where") || IsWord(i, "having") || IsWord(i, "window") || IsWord(i, "order")
            || IsWord(i, "limit") || IsWord(i, "offset") || IsWord(i, "fetch") || IsWord(i, "union")
            || IsWord(i, "intersect") || IsWord(i, "except") || IsWord(i, "select") || IsWord(i, "values")
            || IsWord(i, "on") || IsWord(i, "using") || IsWord(i, "returning"))
        {
            Current.Clause = Clause.Other;
        }
    }

    /// <summary><c>INTO [GLOBAL|LOCAL] TEMP|TEMPORARY [TABLE] name</c>, or <c>INTO pg_temp.name</c>.</summary>
    private bool IntoTemporary(int i)
    {
        if (IsWord(i, "global") || IsWord(i, "local"))
        {
            i++;
        }

        return IsWord(i, "temp") || IsWord(i, "temporary")
            || (i + 1 < _end && _tokens[i].IsName && _tokens[i + 1].Kind == SqlTokenKind.Dot && _text.Name(i) == "pg_temp");
    }

    /// <summary>Whether a name followed by <c>(</c> is a function call (doubt says yes).</summary>
    private bool IsFunctionCall(int first, int last, bool qualified)
    {
        var previous = first - 1;
        if (!qualified && _tokens[first].Kind == SqlTokenKind.Identifier)
        {
            if (_text.IsWordIn(first, Keywords.TypesWithModifiers, _end) || IsContextualKeyword(first, previous))
            {
                return false;
            }
        }

        if (previous < _start)
        {
            return true;
        }

        // CAST(x AS varchar(10)), FROM f() AS g(a, b); TABLESAMPLE method (args).
        if (IsWord(previous, "as") || IsWord(previous, "tablesample"))
        {
            return false;
        }

        // WITH name (columns) AS [NOT MATERIALIZED] ( ... ); in a FROM clause f(x) AS (a int) is a call.
        if (Current.Clause == Clause.With && IsCteDefinition(last + 1))
        {
            return false;
        }

        // In a FROM clause a name right after a FROM item is an alias with a column list: (VALUES ...) v(a, b).
        if (Current.Clause == Clause.From && Current.Kind != FrameKind.FunctionArguments)
        {
            var token = _tokens[previous];
            if (token.Kind is SqlTokenKind.RightParen or SqlTokenKind.QuotedIdentifier)
            {
                return false;
            }

            if (token.Kind == SqlTokenKind.Identifier && !_text.IsWordIn(previous, Keywords.FromItemIntroducers, _end))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Unreserved keywords (which could also name a user function) recognised by what precedes them.</summary>
    private bool IsContextualKeyword(int word, int previous)
    {
        var afterParen = previous >= _start && _tokens[previous].Kind == SqlTokenKind.RightParen;
        return (IsWord(word, "over") || IsWord(word, "filter") || IsWord(word, "repeatable")) ? afterParen
            : IsWord(word, "materialized") ? IsWord(previous, "as") || IsWord(previous, "not")
            : IsWord(word, "zone") ? IsWord(previous, "time")
            : IsWord(word, "sets") ? IsWord(previous, "grouping")
            : IsWord(word, "conflict") ? IsWord(previous, "on")
            : IsWord(word, "varying") ? IsWord(previous, "character") || IsWord(previous, "char") || IsWord(previous, "bit")
            : IsWord(word, "by") ? IsWord(previous, "order") || IsWord(previous, "group") || IsWord(previous, "partition")
            : IsWord(word, "cube") || IsWord(word, "rollup") ? Current.Clause == Clause.GroupBy
            : (IsWord(word, "columns") || IsWord(word, "operator")) && EndsExpression(previous);
    }

    private bool EndsExpression(int i)
    {
        if (i < _start)
        {
            return false;
        }

        var token = _tokens[i];
        return token.IsStringLiteral
            || token.Kind is SqlTokenKind.RightParen or SqlTokenKind.RightBracket or SqlTokenKind.Number
                or SqlTokenKind.Parameter or SqlTokenKind.QuotedIdentifier
            || (token.Kind == SqlTokenKind.Identifier && !_text.IsWordIn(i, Keywords.NotFunctions, _end));
    }

    private bool IsCteDefinition(int openParen)
    {
        var close = _text.Match(openParen);
        if (close < 0 || close >= _end || !IsWord(close + 1, "as"))
        {
            return false;
        }

        var after = close + 2;
        return (after < _end && _tokens[after].Kind == SqlTokenKind.LeftParen)
            || IsWord(after, "materialized")
            || (IsWord(after, "not") && IsWord(after + 1, "materialized"));
    }

    private void OnFunctionCall(int first, int last, bool qualified)
    {
        var name = _text.Name(last);
        if (name == "set_config" && (!qualified || _text.Name(last - 2) == "pg_catalog"))
        {
            OnSetConfig(last + 1);
        }

        // Once the statement is a write, only pinning matters (and the volatility source is not asked about table
        // names such as INSERT INTO t (a, b)).
        if (_mode == ScanMode.PinsOnly || _verdict.Writes)
        {
            if (FunctionCatalog.PinsSession(name))
            {
                _verdict.Pins |= SessionPinReasons.AdvisoryLock;
            }

            return;
        }

        var schema = qualified ? _text.Name(last - 2) : null;
        switch (_text.Functions.Evaluate(schema, name))
        {
            case FunctionEffect.ReadSafe:
                break;
            case FunctionEffect.PrimaryAndPinned:
                _verdict.Pins |= SessionPinReasons.AdvisoryLock;
                MarkWrite($"function {name}() takes a session-level advisory lock");
                break;
            case FunctionEffect.Primary:
                MarkWrite($"function {name}() must run on the primary");
                break;
            default:
                MarkWrite($"function {_text.Source(first, last)}() is volatile or not known to be read-only");
                break;
        }
    }

    /// <summary>set_config(name, value, false) changes the session like SET; with arguments that are not literals, the proxy cannot follow it.</summary>
    private void OnSetConfig(int open)
    {
        switch (SetConfigCall.Read(_text, open, _end, out var setting))
        {
            case SetConfigEffect.Setting:
                (_verdict.Settings ??= []).Add(setting!);
                break;
            case SetConfigEffect.Untracked:
                _verdict.Pins |= SessionPinReasons.UntrackedSetting;
                break;
            default:
                break;
        }
    }

    private void MarkWrite(string reason)
    {
        _verdict.Writes = true;
        _verdict.Reason ??= reason;
    }

    private bool IsWord(int i, string keyword) => i >= _start && _text.IsWord(i, keyword, _end);

    private struct Frame(FrameKind kind, Clause clause)
    {
        public FrameKind Kind = kind;
        public Clause Clause = clause;
    }
}
