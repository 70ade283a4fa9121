using System.Text;

namespace Sluice.Routing.Classification;

/// <summary>
/// Statement text fit for a log line: every literal replaced, because a statement may carry a secret
/// (<c>ALTER ROLE app PASSWORD $$…$$</c>, a key in <c>E'…'</c>, a card number) and no secret reaches a log.
/// </summary>
/// <remarks>
/// Literals are found by <see cref="SqlLexer"/>, so every PostgreSQL form counts: '…', E'…', N'…', B'…', X'…',
/// U&amp;'…', $$…$$, $tag$…$tag$ and numbers. The lexer runs twice, with and without standard_conforming_strings,
/// and a character inside a literal under either reading is hidden: the log does not know the session's setting,
/// and <c>'a\' , 'b'</c> holds one string under one reading and two under the other. An unterminated string hides
/// everything after its quote. Names, keywords, operators, parameters ($1) and comments are kept.
/// </remarks>
public static class SqlRedaction
{
    /// <summary>What replaces a string literal of any form.</summary>
    public const string StringMark = "'?'";

    /// <summary>What replaces a numeric literal.</summary>
    public const string NumberMark = "?";

    private const byte Kept = 0;
    private const byte InNumber = 1;
    private const byte InString = 2;

    /// <summary>
    /// <paramref name="sql"/> with each run of string literals replaced by <see cref="StringMark"/> and each run of
    /// numbers by <see cref="NumberMark"/>.
    /// </summary>
    public static string RedactLiterals(string sql)
    {
        ArgumentNullException.ThrowIfNull(sql);
        var hidden = new byte[sql.Length];
        var tokens = new TokenList();
        var anyLiteral = Mark(sql, tokens, standardConformingStrings: true, hidden);
        anyLiteral |= Mark(sql, tokens, standardConformingStrings: false, hidden);
        if (!anyLiteral)
        {
            return sql;
        }

        var redacted = new StringBuilder(sql.Length);
        var i = 0;
        while (i < sql.Length)
        {
            var rest = hidden.AsSpan(i);
            if (rest[0] == Kept)
            {
                var kept = rest.IndexOfAnyExcept(Kept);
                kept = kept < 0 ? rest.Length : kept;
                redacted.Append(sql, i, kept);
                i += kept;
                continue;
            }

            // A run of one kind becomes one mark: a number touching a string stays a number mark, so that
            // "U&.5'x'" is logged as "U&?'?'" and not as a Unicode string "U&'?'".
            var run = rest.IndexOfAnyExcept(rest[0]);
            run = run < 0 ? rest.Length : run;
            redacted.Append(rest[0] == InString ? StringMark : NumberMark);
            i += run;
        }

        return redacted.ToString();
    }

    /// <summary>Marks the characters of every literal under one reading; true when there was one.</summary>
    private static bool Mark(string sql, TokenList tokens, bool standardConformingStrings, byte[] hidden)
    {
        SqlLexer.Tokenize(sql, tokens, standardConformingStrings);
        var any = false;
        for (var t = 0; t < tokens.Count; t++)
        {
            var token = tokens[t];
            var mark = token.IsStringLiteral ? InString : token.Kind == SqlTokenKind.Number ? InNumber : Kept;
            if (mark == Kept)
            {
                continue;
            }

            any = true;
            var span = hidden.AsSpan(token.Start, token.Length);
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = Math.Max(span[i], mark);
            }
        }

        return any;
    }
}
