namespace Sluice.Routing.Classification;

/// <summary>Token types of PostgreSQL's SQL lexer (whitespace is skipped, comments are kept).</summary>
public enum SqlTokenKind : byte
{
    /// <summary>An unquoted name or keyword; PostgreSQL folds it to lower case.</summary>
    Identifier,

    /// <summary><c>"name"</c> (with <c>""</c> escapes) or <c>U&amp;"name"</c>.</summary>
    QuotedIdentifier,

    /// <summary><c>'text'</c> with <c>''</c> escapes (also <c>N'text'</c>).</summary>
    String,

    /// <summary><c>E'text'</c> with backslash escapes.</summary>
    EscapeString,

    /// <summary><c>U&amp;'text'</c>.</summary>
    UnicodeString,

    /// <summary><c>$$text$$</c> or <c>$tag$text$tag$</c>.</summary>
    DollarString,

    /// <summary><c>B'0101'</c>.</summary>
    BitString,

    /// <summary><c>X'1F'</c>.</summary>
    HexString,

    /// <summary>Integer or numeric literal (also 0x/0o/0b and _ separators).</summary>
    Number,

    /// <summary>A positional parameter, <c>$1</c>.</summary>
    Parameter,

    /// <summary>An operator such as <c>=</c>, <c>&lt;&gt;</c>, <c>||</c>, <c>-&gt;&gt;</c>, <c>:=</c>.</summary>
    Operator,

    /// <summary><c>::</c>.</summary>
    Typecast,

    LeftParen,
    RightParen,
    LeftBracket,
    RightBracket,
    Comma,
    Semicolon,
    Colon,
    Dot,
    LineComment,
    BlockComment,

    /// <summary>A character PostgreSQL's lexer rejects (e.g. <c>{</c>, <c>\</c>, a stray <c>$</c>).</summary>
    Invalid,
}

/// <summary>One token: where it is in the text, and the parenthesis depth it sits at.</summary>
/// <param name="Kind">The token type.</param>
/// <param name="Start">Offset of the first character.</param>
/// <param name="Length">Number of characters.</param>
/// <param name="Depth">
/// Parenthesis depth: a <c>(</c> and its matching <c>)</c> both carry the depth outside them; negative after an
/// unmatched <c>)</c>.
/// </param>
/// <param name="IsUnterminated">A string, quoted identifier or block comment that runs to the end of the text.</param>
public readonly record struct SqlToken(SqlTokenKind Kind, int Start, int Length, int Depth, bool IsUnterminated = false)
{
    public int End => Start + Length;

    public bool IsComment => Kind is SqlTokenKind.LineComment or SqlTokenKind.BlockComment;

    public bool IsName => Kind is SqlTokenKind.Identifier or SqlTokenKind.QuotedIdentifier;

    public bool IsStringLiteral => Kind is SqlTokenKind.String or SqlTokenKind.EscapeString or SqlTokenKind.UnicodeString
        or SqlTokenKind.DollarString or SqlTokenKind.BitString or SqlTokenKind.HexString;
}

/// <summary>A growable token array that can be reused between classifications (no per-call list allocation).</summary>
public sealed class TokenList
{
    private SqlToken[] _items;

    public TokenList(int capacity = 64) => _items = new SqlToken[Math.Max(capacity, 4)];

    public int Count { get; private set; }

    public SqlToken[] Items => _items;

    /// <summary>The paren depth after the last token (non-zero when parentheses are unbalanced).</summary>
    public int FinalDepth { get; set; }

    public SqlToken this[int index] => _items[index];

    public void Add(in SqlToken token)
    {
        if (Count == _items.Length)
        {
            Array.Resize(ref _items, _items.Length * 2);
        }

        _items[Count++] = token;
    }

    public void Clear()
    {
        Count = 0;
        FinalDepth = 0;
    }

    /// <summary>Removes the tokens matching <paramref name="remove"/>, keeping the order of the rest.</summary>
    public void RemoveAll(Func<SqlToken, bool> remove)
    {
        var kept = 0;
        for (var i = 0; i < Count; i++)
        {
            if (!remove(_items[i]))
            {
                _items[kept++] = _items[i];
            }
        }

        Count = kept;
    }

    public SqlToken[] ToArray() => _items.AsSpan(0, Count).ToArray();
}
