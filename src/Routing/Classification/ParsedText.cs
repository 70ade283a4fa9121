using System.Collections.Frozen;

namespace Sluice.Routing.Classification;

/// <summary>
/// The significant tokens of one SQL text (comments removed, except unterminated ones, which mark an error), the
/// matching parenthesis of each parenthesis, and word helpers shared by the analyzers.
/// </summary>
internal sealed class ParsedText
{
    /// <summary>The longest word in <see cref="Keywords.All"/> ("characteristics").</summary>
    private const int MaxKeywordLength = 15;

    private readonly TokenList _tokens;
    private readonly Stack<int> _open = new();
    private int[] _match = new int[64];
    private string?[] _words = new string?[64];

    public ParsedText(TokenList tokens) => _tokens = tokens;

    public string Sql { get; private set; } = "";

    public bool StandardConformingStrings { get; private set; } = true;

    public FunctionCatalog Functions { get; private set; } = null!;

    public SqlToken[] Tokens => _tokens.Items;

    public int Count => _tokens.Count;

    /// <summary>Paren depth after the last token; non-zero when parentheses are unbalanced.</summary>
    public int FinalDepth => _tokens.FinalDepth;

    /// <summary>Prepares the text's tokens (already lexed into the token list, comments removed) for analysis.</summary>
    public void Reset(string sql, bool standardConformingStrings, FunctionCatalog functions)
    {
        Sql = sql;
        StandardConformingStrings = standardConformingStrings;
        Functions = functions;
        if (_match.Length < Count)
        {
            _match = new int[Math.Max(Count, _match.Length * 2)];
            _words = new string?[_match.Length];
        }

        // One pass with a stack of open parentheses: O(n) however deep the nesting.
        var open = _open;
        open.Clear();
        for (var i = 0; i < Count; i++)
        {
            _match[i] = -1;
            _words[i] = null;
            switch (Tokens[i].Kind)
            {
                case SqlTokenKind.Identifier:
                    _words[i] = LookUpKeyword(Text(i));
                    break;
                case SqlTokenKind.LeftParen:
                    open.Push(i);
                    break;
                case SqlTokenKind.RightParen when open.Count > 0:
                    var left = open.Pop();
                    _match[left] = i;
                    _match[i] = left;
                    break;
                default:
                    break;
            }
        }
    }

    /// <summary>Forgets the text so a pooled instance does not keep it alive.</summary>
    public void Release()
    {
        Sql = "";
        Functions = null!;
    }

    /// <summary>The index of the parenthesis matching the one at <paramref name="index"/>, or -1.</summary>
    public int Match(int index) => index >= 0 && index < Count ? _match[index] : -1;

    public ReadOnlySpan<char> Text(int index) => Sql.AsSpan(Tokens[index].Start, Tokens[index].Length);

    public bool IsKind(int index, SqlTokenKind kind, int end) => index >= 0 && index < end && Tokens[index].Kind == kind;

    /// <summary>Whether the token at <paramref name="index"/> (before <paramref name="end"/>) is the unquoted keyword.</summary>
    public bool IsWord(int index, string keyword, int end)
    {
        if (index < 0 || index >= end)
        {
            return false;
        }

        // Known words compare by reference; anything else (a table name) only needs the ASCII comparison.
        return _words[index] is { } word
            ? ReferenceEquals(word, keyword)
            : Tokens[index].Kind == SqlTokenKind.Identifier && TokenText.EqualsKeyword(Text(index), keyword);
    }

    public bool IsWord(int index, string keyword) => IsWord(index, keyword, Count);

    /// <summary>Whether the unquoted identifier at <paramref name="index"/>, folded, is in <paramref name="set"/> (a subset of <see cref="Keywords.All"/>).</summary>
    public bool IsWordIn(int index, FrozenSet<string> set, int end) =>
        index >= 0 && index < end && _words[index] is { } word && set.Contains(word);

    private static string? LookUpKeyword(ReadOnlySpan<char> text)
    {
        if (text.Length > MaxKeywordLength)
        {
            return null;
        }

        Span<char> folded = stackalloc char[text.Length];
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            folded[i] = c is >= 'A' and <= 'Z' ? (char)(c + ('a' - 'A')) : c;
        }

        return Keywords.AllBySpan.TryGetValue(folded, out var keyword) ? keyword : null;
    }

    /// <summary>The name a name token stands for (folded when unquoted).</summary>
    public string Name(int index) => TokenText.Name(Sql, Tokens[index]);

    /// <summary>The value of a literal token: decoded strings, raw numbers, folded identifiers.</summary>
    public string Value(int index)
    {
        var token = Tokens[index];
        return token.Kind switch
        {
            _ when token.IsStringLiteral => TokenText.StringValue(Sql, token, StandardConformingStrings),
            SqlTokenKind.Identifier or SqlTokenKind.QuotedIdentifier => Name(index),
            _ => Text(index).ToString(),
        };
    }

    /// <summary>The source text from the start of token <paramref name="first"/> to the end of token <paramref name="last"/>.</summary>
    public string Source(int first, int last) => Sql[Tokens[first].Start..Tokens[last].End];
}
