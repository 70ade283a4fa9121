using System.Text;

namespace Sluice.Proxy.Admin;

internal enum SqlTokenKind
{
    /// <summary>An unquoted identifier or keyword.</summary>
    Word,
    QuotedIdentifier,
    String,
    Number,
    /// <summary>A positional parameter ($1).</summary>
    Parameter,
    /// <summary>One punctuation or operator character.</summary>
    Symbol,
}

/// <summary>One token; <see cref="Value"/> is the text with quotes removed, Start/End its place in the statement text.</summary>
internal readonly record struct SqlToken(SqlTokenKind Kind, string Value, int Start, int End)
{
    public bool IsWord(string word) => Kind == SqlTokenKind.Word && Value.Equals(word, StringComparison.OrdinalIgnoreCase);

    public bool IsSymbol(char symbol) => Kind == SqlTokenKind.Symbol && Value.Length == 1 && Value[0] == symbol;

    /// <summary>An identifier in either spelling: an unquoted word folded to lower case, or a quoted one as written.</summary>
    public string? Identifier => Kind switch
    {
        SqlTokenKind.Word => Value.ToLowerInvariant(),
        SqlTokenKind.QuotedIdentifier => Value,
        _ => null,
    };
}

/// <summary>
/// Splits console input into tokens and statements. Enough of PostgreSQL's lexical rules that a driver's queries (with
/// comments holding quotes, string literals holding semicolons, dollar quotes) split where PostgreSQL would split them.
/// </summary>
internal static class SqlLexer
{
    /// <summary>The statements of <paramref name="sql"/> (empty ones dropped), or an error for unterminated input.</summary>
    public static (List<(string Text, List<SqlToken> Tokens)>? Statements, AdminError? Error) Split(string sql)
    {
        var statements = new List<(string, List<SqlToken>)>();
        var current = new List<SqlToken>();
        var position = 0;
        while (true)
        {
            var (token, error) = Next(sql, ref position);
            if (error is not null)
            {
                return (null, error);
            }

            if (token is not { } found || found.IsSymbol(';'))
            {
                if (current.Count > 0)
                {
                    var start = current[0].Start;
                    statements.Add((sql[start..current[^1].End], current.Select(t => t with { Start = t.Start - start, End = t.End - start }).ToList()));
                    current = [];
                }

                if (token is null)
                {
                    return (statements, null);
                }

                continue;
            }

            current.Add(found);
        }
    }

    private static (SqlToken? Token, AdminError? Error) Next(string sql, ref int position)
    {
        var i = position;
        while (true)
        {
            while (i < sql.Length && char.IsWhiteSpace(sql[i]))
            {
                i++;
            }

            if (i + 1 < sql.Length && sql[i] == '-' && sql[i + 1] == '-')
            {
                while (i < sql.Length && sql[i] != '\n')
                {
                    i++;
                }

                continue;
            }

            if (i + 1 < sql.Length && sql[i] == '/' && sql[i + 1] == '*')
            {
                // Block comments nest in PostgreSQL.
                var depth = 0;
                do
                {
                    if (i + 1 >= sql.Length)
                    {
                        position = sql.Length;
                        return (null, Unterminated("/* comment"));
                    }

                    if (sql[i] == '/' && sql[i + 1] == '*')
                    {
                        depth++;
                        i += 2;
                    }
                    else if (sql[i] == '*' && sql[i + 1] == '/')
                    {
                        depth--;
                        i += 2;
                    }
                    else
                    {
                        i++;
                    }
                }
                while (depth > 0);

                continue;
            }

            break;
        }

        if (i >= sql.Length)
        {
            position = i;
            return (null, null);
        }

        var start = i;
        var c = sql[i];
        if ((c is 'E' or 'e') && i + 1 < sql.Length && sql[i + 1] == '\'')
        {
            return Quoted(sql, ref position, start, i + 1, '\'', SqlTokenKind.String, backslashEscapes: true);
        }

        if (c == '\'')
        {
            return Quoted(sql, ref position, start, i, '\'', SqlTokenKind.String, backslashEscapes: false);
        }

        if (c == '"')
        {
            return Quoted(sql, ref position, start, i, '"', SqlTokenKind.QuotedIdentifier, backslashEscapes: false);
        }

        if (c == '$')
        {
            if (i + 1 < sql.Length && char.IsAsciiDigit(sql[i + 1]))
            {
                i++;
                while (i < sql.Length && char.IsAsciiDigit(sql[i]))
                {
                    i++;
                }

                position = i;
                return (new SqlToken(SqlTokenKind.Parameter, sql[start..i], start, i), null);
            }

            var tagEnd = i + 1;
            while (tagEnd < sql.Length && (char.IsLetterOrDigit(sql[tagEnd]) || sql[tagEnd] == '_'))
            {
                tagEnd++;
            }

            if (tagEnd < sql.Length && sql[tagEnd] == '$')
            {
                var tag = sql[i..(tagEnd + 1)];
                var close = sql.IndexOf(tag, tagEnd + 1, StringComparison.Ordinal);
                if (close < 0)
                {
                    position = sql.Length;
                    return (null, Unterminated("dollar-quoted string"));
                }

                position = close + tag.Length;
                return (new SqlToken(SqlTokenKind.String, sql[(tagEnd + 1)..close], start, position), null);
            }
        }

        if (char.IsLetter(c) || c == '_')
        {
            while (i < sql.Length && (char.IsLetterOrDigit(sql[i]) || sql[i] is '_' or '$'))
            {
                i++;
            }

            position = i;
            return (new SqlToken(SqlTokenKind.Word, sql[start..i], start, i), null);
        }

        if (char.IsAsciiDigit(c) || (c == '.' && i + 1 < sql.Length && char.IsAsciiDigit(sql[i + 1])))
        {
            while (i < sql.Length && (char.IsAsciiDigit(sql[i]) || sql[i] == '.'))
            {
                i++;
            }

            if (i < sql.Length && sql[i] is 'e' or 'E')
            {
                var exponent = i + 1 < sql.Length && sql[i + 1] is '+' or '-' ? i + 2 : i + 1;
                if (exponent < sql.Length && char.IsAsciiDigit(sql[exponent]))
                {
                    i = exponent;
                    while (i < sql.Length && char.IsAsciiDigit(sql[i]))
                    {
                        i++;
                    }
                }
            }

            position = i;
            return (new SqlToken(SqlTokenKind.Number, sql[start..i], start, i), null);
        }

        position = i + 1;
        return (new SqlToken(SqlTokenKind.Symbol, sql[i..(i + 1)], start, i + 1), null);
    }

    private static (SqlToken?, AdminError?) Quoted(string sql, ref int position, int start, int open, char quote, SqlTokenKind kind, bool backslashEscapes)
    {
        var value = new StringBuilder();
        var i = open + 1;
        while (true)
        {
            if (i >= sql.Length)
            {
                position = sql.Length;
                return (null, Unterminated(kind == SqlTokenKind.String ? "quoted string" : "quoted identifier"));
            }

            var c = sql[i];
            if (backslashEscapes && c == '\\' && i + 1 < sql.Length)
            {
                value.Append(sql[i + 1]);
                i += 2;
                continue;
            }

            if (c == quote)
            {
                if (i + 1 < sql.Length && sql[i + 1] == quote)
                {
                    value.Append(quote);
                    i += 2;
                    continue;
                }

                position = i + 1;
                return (new SqlToken(kind, value.ToString(), start, i + 1), null);
            }

            value.Append(c);
            i++;
        }
    }

    private static AdminError Unterminated(string what) => new("42601", $"syntax error: unterminated {what}");
}
