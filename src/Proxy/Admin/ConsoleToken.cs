using Sluice.Protocol.Messages;
using Sluice.Routing.Classification;

namespace Sluice.Proxy.Admin;

/// <summary>
/// One token of a console statement as Routing's <see cref="SqlLexer"/> reads it: its kind, its text, and its value —
/// a string's decoded contents, the name a name stands for (folded when unquoted), the text for anything else.
/// </summary>
internal readonly record struct ConsoleToken(SqlTokenKind Kind, string Text, string Value)
{
    /// <summary>Whether this is the unquoted <paramref name="keyword"/> (lower case), compared as PostgreSQL folds names.</summary>
    public bool IsWord(string keyword) => Kind == SqlTokenKind.Identifier && TokenText.EqualsKeyword(Text, keyword);

    public bool IsOperator(string text) => Kind == SqlTokenKind.Operator && Text == text;

    /// <summary>An identifier in either spelling: an unquoted word folded to lower case, or a quoted one as written.</summary>
    public string? Identifier => Kind is SqlTokenKind.Identifier or SqlTokenKind.QuotedIdentifier ? Value : null;

    /// <summary>
    /// A string the console answers as text: '…', N'…', E'…', $$…$$. Bit, hex and U&amp;'…' strings are not text
    /// (the console does not decode Unicode escapes), so a SELECT of one is refused rather than answered wrong.
    /// </summary>
    public bool IsText => Kind is SqlTokenKind.String or SqlTokenKind.EscapeString or SqlTokenKind.DollarString;

    /// <summary>
    /// The statements of console input, split at semicolons, with their significant tokens (comments dropped, empty
    /// statements skipped); or a 42601 error for an unterminated string, quoted identifier or comment.
    /// </summary>
    public static (List<(string Text, List<ConsoleToken> Tokens)>? Statements, AdminError? Error) Split(string sql)
    {
        // The console reports standard_conforming_strings = on, so that is how its input is read.
        var lexed = new TokenList();
        SqlLexer.Tokenize(sql, lexed);
        var statements = new List<(string, List<ConsoleToken>)>();
        var current = new List<ConsoleToken>();
        var start = 0;
        var end = 0;
        for (var i = 0; i <= lexed.Count; i++)
        {
            if (i < lexed.Count)
            {
                var token = lexed[i];
                if (token.IsUnterminated)
                {
                    return (null, new AdminError(SqlState.SyntaxError, "syntax error: " + SqlLexer.DescribeError(sql, token)));
                }

                if (token.IsComment)
                {
                    continue;
                }

                if (token.Kind != SqlTokenKind.Semicolon)
                {
                    start = current.Count == 0 ? token.Start : start;
                    end = token.End;
                    current.Add(Read(sql, token));
                    continue;
                }
            }

            if (current.Count > 0)
            {
                statements.Add((sql[start..end], current));
                current = [];
            }
        }

        return (statements, null);
    }

    private static ConsoleToken Read(string sql, in SqlToken token)
    {
        var text = sql.Substring(token.Start, token.Length);
        var value = token.Kind switch
        {
            SqlTokenKind.Identifier or SqlTokenKind.QuotedIdentifier => TokenText.Name(sql, token),
            _ when token.IsStringLiteral => TokenText.StringValue(sql, token, standardConformingStrings: true),
            _ => text,
        };
        return new ConsoleToken(token.Kind, text, value);
    }
}
