using System.Buffers;
using System.Collections.Concurrent;
using System.Text;

namespace Sluice.Routing.Classification;

/// <summary>
/// Classifies SQL text as read / write / unknown for read-write splitting, and reports the transaction-control,
/// session-state and session-pinning facts a pooler needs. Thread-safe; one instance serves the whole proxy.
/// Results are cached per text (bounded), so repeated and prepared statements cost one dictionary lookup.
/// </summary>
/// <remarks>
/// <para>
/// Fails closed: anything the classifier cannot lex or does not recognise is <see cref="StatementRoute.Unknown"/>,
/// which callers route like a write. The classifier never throws on any input.
/// </para>
/// <para>
/// Reads: SELECT / VALUES / TABLE / WITH ... SELECT without a data-modifying CTE (at any depth), a row-locking clause
/// (FOR UPDATE / NO KEY UPDATE / SHARE / KEY SHARE, anywhere), SELECT INTO, or a call of a function not known to be
/// read-only; SHOW; EXPLAIN without ANALYZE (with ANALYZE it is what its statement is); COPY ... TO STDOUT (for
/// COPY (query) TO STDOUT, what the query is); DECLARE CURSOR (what its query is); FETCH / MOVE / CLOSE;
/// BEGIN / START TRANSACTION READ ONLY; COMMIT / ROLLBACK / SAVEPOINT / RELEASE; SET / RESET / DISCARD (they write
/// no data and a hot standby runs them), except SET TRANSACTION READ WRITE and its equivalents.
/// </para>
/// <para>
/// Writes: INSERT / UPDATE / DELETE / MERGE / TRUNCATE, COPY ... FROM, COPY ... TO a file or PROGRAM, all DDL,
/// VACUUM / ANALYZE / CLUSTER / REINDEX / REFRESH / CHECKPOINT, CALL, DO, LOCK, LISTEN / UNLISTEN / NOTIFY,
/// PREPARE / EXECUTE / DEALLOCATE, LOAD, BEGIN without READ ONLY, two-phase commit commands.
/// </para>
/// <para>
/// Functions: a built-in list of read-only functions (aggregates, math, strings, dates, JSON, arrays, catalog
/// information; also random(), gen_random_uuid() and pg_sleep(), which are volatile but write nothing) are reads;
/// sequence functions, advisory locks, pg_notify, set_config, txid_current, lo_*, dblink* and server administration
/// functions are always writes; any other function is asked of <see cref="SqlClassifierOptions.FunctionVolatility"/>
/// (immutable / stable: read) and is a write when unknown.
/// </para>
/// <para>
/// Not visible in the text, hence not detected: volatile functions behind views, functions called with attribute
/// notation (<c>t.f</c>), operators implemented by volatile functions. Use <c>/* sluice:primary */</c> for those.
/// </para>
/// </remarks>
public sealed class SqlClassifier
{
    private static readonly Func<SqlToken, bool> IsFinishedComment = static token => token.IsComment && !token.IsUnterminated;

    [ThreadStatic]
    private static Workspace? t_workspace;

    private readonly SqlClassifierOptions _options;
    private readonly FunctionCatalog _functions;
    private readonly ConcurrentDictionary<string, ClassificationResult> _cache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ClassificationResult>.AlternateLookup<ReadOnlySpan<char>> _spanCache;
    private readonly Lock _clearLock = new();
    private int _cachedTexts;
    private long _cachedCharacters;

    public SqlClassifier()
        : this(new SqlClassifierOptions())
    {
    }

    public SqlClassifier(SqlClassifierOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _functions = new FunctionCatalog(options.FunctionVolatility);
        _spanCache = _cache.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>The number of texts in the cache now.</summary>
    public int CachedCount => _cache.Count;

    /// <summary>Classifies <paramref name="sql"/> (one or more statements), from the cache when it was seen before.</summary>
    public ClassificationResult Classify(string sql)
    {
        ArgumentNullException.ThrowIfNull(sql);
        if (_cache.TryGetValue(sql, out var cached))
        {
            return cached;
        }

        return Remember(sql, ClassifySafely(sql));
    }

    /// <summary>Like <see cref="Classify(string)"/>; a cache hit allocates nothing.</summary>
    public ClassificationResult Classify(ReadOnlySpan<char> sql)
    {
        if (_spanCache.TryGetValue(sql, out var cached))
        {
            return cached;
        }

        var text = sql.ToString();
        return Remember(text, ClassifySafely(text));
    }

    /// <summary>
    /// Classifies UTF-8 SQL as it arrives in a Query or Parse message (a trailing NUL terminator is ignored); a cache
    /// hit allocates nothing. For a client_encoding other than UTF-8, decode the text yourself and call
    /// <see cref="Classify(ReadOnlySpan{char})"/>.
    /// </summary>
    public ClassificationResult ClassifyUtf8(ReadOnlySpan<byte> sql)
    {
        while (sql.Length > 0 && sql[^1] == 0)
        {
            sql = sql[..^1];
        }

        // UTF-8 never decodes to more UTF-16 code units than it has bytes (invalid bytes become one U+FFFD each).
        const int StackLimit = 512;
        char[]? rented = null;
        var buffer = sql.Length <= StackLimit ? stackalloc char[StackLimit] : (rented = ArrayPool<char>.Shared.Rent(sql.Length));
        try
        {
            var length = Encoding.UTF8.GetChars(sql, buffer);
            return Classify(buffer[..length]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<char>.Shared.Return(rented);
            }
        }
    }

    /// <summary>
    /// Empties the result cache. Call it when the answers of <see cref="SqlClassifierOptions.FunctionVolatility"/>
    /// change (cached results may depend on them).
    /// </summary>
    public void ClearCache()
    {
        lock (_clearLock)
        {
            _cache.Clear();
            Volatile.Write(ref _cachedTexts, 0);
            Interlocked.Exchange(ref _cachedCharacters, 0);
        }
    }

    /// <summary>Classifies without the cache and without the safety net, so tests see every exception.</summary>
    internal ClassificationResult ClassifyUncached(string sql)
    {
        var workspace = t_workspace ?? new Workspace();
        t_workspace = null; // re-entrant calls (a volatility source that classifies) get their own workspace
        try
        {
            var tokens = workspace.Tokens;
            SqlLexer.Tokenize(sql, tokens, _options.StandardConformingStrings);
            var hint = ReadHint(sql, tokens);
            tokens.RemoveAll(IsFinishedComment);

            var text = workspace.Text;
            text.Reset(sql, _options.StandardConformingStrings, _functions);
            var ranges = workspace.Ranges;
            StatementSplitter.Split(text, ranges);

            var analyzer = new StatementAnalyzer(text);
            var statements = new StatementInfo[ranges.Count];
            for (var i = 0; i < ranges.Count; i++)
            {
                var range = ranges[i];
                var facts = range.Error is null
                    ? analyzer.Analyze(range.Start, range.End)
                    : StatementFacts.Unknown(range.Error);
                var startOffset = range.Start < text.Count ? text.Tokens[range.Start].Start : sql.Length;
                var endOffset = range.End > range.Start ? text.Tokens[range.End - 1].End : startOffset;
                statements[i] = facts.ToInfo(startOffset, endOffset - startOffset);
            }

            return new ClassificationResult(hint, statements.AsReadOnly());
        }
        finally
        {
            if (workspace.Release())
            {
                t_workspace = workspace;
            }
        }
    }

    private ClassificationResult ClassifySafely(string sql)
    {
        try
        {
            return ClassifyUncached(sql);
        }
#pragma warning disable CA1031 // A classifier bug must not break a client session: route the text to the primary.
        catch (Exception exception)
#pragma warning restore CA1031
        {
            return new ClassificationResult(RouteHint.None,
                [StatementFacts.Unknown($"classifier error: {exception.GetType().Name}").ToInfo(0, sql.Length)]);
        }
    }

    private ClassificationResult Remember(string sql, ClassificationResult result)
    {
        if (_options.CacheCapacity <= 0 || sql.Length > _options.MaxCachedTextLength || sql.Length > _options.MaxCachedCharacters)
        {
            return result;
        }

        if (Volatile.Read(ref _cachedTexts) >= _options.CacheCapacity
            || Interlocked.Read(ref _cachedCharacters) + sql.Length > _options.MaxCachedCharacters)
        {
            // Starting over is crude but cheap and keeps reads lock-free; a hot working set refills at once.
            lock (_clearLock)
            {
                if (Volatile.Read(ref _cachedTexts) >= _options.CacheCapacity
                    || Interlocked.Read(ref _cachedCharacters) + sql.Length > _options.MaxCachedCharacters)
                {
                    _cache.Clear();
                    Volatile.Write(ref _cachedTexts, 0);
                    Interlocked.Exchange(ref _cachedCharacters, 0);
                }
            }
        }

        if (!_cache.TryAdd(sql, result))
        {
            return _cache.TryGetValue(sql, out var existing) ? existing : result;
        }

        Interlocked.Increment(ref _cachedTexts);
        Interlocked.Add(ref _cachedCharacters, sql.Length);
        return result;
    }

    /// <summary>A <c>/* sluice:primary */</c> or <c>/* sluice:replica */</c> comment before the first token; primary wins a conflict.</summary>
    private static RouteHint ReadHint(string sql, TokenList tokens)
    {
        var hint = RouteHint.None;
        for (var i = 0; i < tokens.Count && tokens[i].IsComment; i++)
        {
            var token = tokens[i];
            if (token.Kind != SqlTokenKind.BlockComment || token.IsUnterminated)
            {
                continue;
            }

            var content = sql.AsSpan(token.Start + 2, token.Length - 4).Trim();
            if (content.Equals("sluice:primary", StringComparison.OrdinalIgnoreCase))
            {
                return RouteHint.Primary;
            }

            if (content.Equals("sluice:replica", StringComparison.OrdinalIgnoreCase))
            {
                hint = RouteHint.Replica;
            }
        }

        return hint;
    }

    /// <summary>Per-thread buffers reused between classifications.</summary>
    private sealed class Workspace
    {
        private const int KeepTokens = 4096;

        public Workspace() => Text = new ParsedText(Tokens);

        public TokenList Tokens { get; } = new();

        public ParsedText Text { get; }

        public List<StatementRange> Ranges { get; } = [];

        /// <summary>Drops references to the text; returns whether the buffers are small enough to keep.</summary>
        public bool Release()
        {
            Tokens.Clear();
            Ranges.Clear();
            Text.Release();
            return Tokens.Items.Length <= KeepTokens;
        }
    }
}
