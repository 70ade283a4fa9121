namespace Sluice.Routing.Classification;

/// <summary>
/// PostgreSQL's lexical rules (scan.l), enough to find statement boundaries and keywords reliably: comments (nested
/// block comments), quoted identifiers, every string form, dollar quotes, numbers, operators, parameters.
/// Never throws: malformed input yields <see cref="SqlTokenKind.Invalid"/> or unterminated tokens. The one lexer of
/// Sluice: the classifier, the admin console's parser and the slow-statement log's <see cref="SqlRedaction"/> all read
/// SQL through it, so they agree on where a string, a comment or a statement ends.
/// </summary>
public static class SqlLexer
{
    /// <summary>Tokenizes <paramref name="sql"/> into <paramref name="tokens"/> (cleared first). Whitespace is skipped.</summary>
    /// <param name="sql">The SQL text.</param>
    /// <param name="tokens">Receives the tokens.</param>
    /// <param name="standardConformingStrings">
    /// The server's standard_conforming_strings (on since PostgreSQL 9.1). When off, backslash escapes quotes in
    /// plain '...' strings too.
    /// </param>
    public static void Tokenize(ReadOnlySpan<char> sql, TokenList tokens, bool standardConformingStrings = true)
    {
        tokens.Clear();
        var depth = 0;
        var i = 0;
        while (i < sql.Length)
        {
            var c = sql[i];
            if (IsSpace(c))
            {
                i++;
                continue;
            }

            var start = i;
            var tokenDepth = depth;
            var unterminated = false;
            SqlTokenKind kind;
            switch (c)
            {
                case '-' when At(sql, i + 1) == '-':
                    kind = SqlTokenKind.LineComment;
                    i = SkipLineComment(sql, i + 2);
                    break;
                case '/' when At(sql, i + 1) == '*':
                    kind = SqlTokenKind.BlockComment;
                    i = SkipBlockComment(sql, i + 2, out unterminated);
                    break;
                case '\'':
                    kind = SqlTokenKind.String;
                    i = SkipQuoted(sql, i + 1, '\'', backslashEscapes: !standardConformingStrings, out unterminated);
                    break;
                case '"':
                    kind = SqlTokenKind.QuotedIdentifier;
                    i = SkipQuoted(sql, i + 1, '"', backslashEscapes: false, out unterminated);
                    break;
                case 'E' or 'e' when At(sql, i + 1) == '\'':
                    kind = SqlTokenKind.EscapeString;
                    i = SkipQuoted(sql, i + 2, '\'', backslashEscapes: true, out unterminated);
                    break;
                case 'N' or 'n' when At(sql, i + 1) == '\'':
                    kind = SqlTokenKind.String;
                    i = SkipQuoted(sql, i + 2, '\'', backslashEscapes: !standardConformingStrings, out unterminated);
                    break;
                case 'B' or 'b' when At(sql, i + 1) == '\'':
                    kind = SqlTokenKind.BitString;
                    i = SkipQuoted(sql, i + 2, '\'', backslashEscapes: false, out unterminated);
                    break;
                case 'X' or 'x' when At(sql, i + 1) == '\'':
                    kind = SqlTokenKind.HexString;
                    i = SkipQuoted(sql, i + 2, '\'', backslashEscapes: false, out unterminated);
                    break;
                case 'U' or 'u' when At(sql, i + 1) == '&' && At(sql, i + 2) == '\'':
                    kind = SqlTokenKind.UnicodeString;
                    i = SkipQuoted(sql, i + 3, '\'', backslashEscapes: false, out unterminated);
                    break;
                case 'U' or 'u' when At(sql, i + 1) == '&' && At(sql, i + 2) == '"':
                    kind = SqlTokenKind.QuotedIdentifier;
                    i = SkipQuoted(sql, i + 3, '"', backslashEscapes: false, out unterminated);
                    break;
                case '$':
                    i = LexDollar(sql, i, out kind, out unterminated);
                    break;
                case '(':
                    kind = SqlTokenKind.LeftParen;
                    depth++;
                    i++;
                    break;
                case ')':
                    kind = SqlTokenKind.RightParen;
                    depth--;
                    tokenDepth = depth;
                    i++;
                    break;
                case '[':
                    kind = SqlTokenKind.LeftBracket;
                    i++;
                    break;
                case ']':
                    kind = SqlTokenKind.RightBracket;
                    i++;
                    break;
                case ',':
                    kind = SqlTokenKind.Comma;
                    i++;
                    break;
                case ';':
                    kind = SqlTokenKind.Semicolon;
                    i++;
                    break;
                case ':':
                    (kind, i) = At(sql, i + 1) switch
                    {
                        ':' => (SqlTokenKind.Typecast, i + 2),
                        '=' => (SqlTokenKind.Operator, i + 2),
                        _ => (SqlTokenKind.Colon, i + 1),
                    };
                    break;
                case '.' when IsDigit(At(sql, i + 1)):
                    kind = SqlTokenKind.Number;
                    i = SkipNumber(sql, i);
                    break;
                case '.':
                    kind = SqlTokenKind.Dot;
                    i++;
                    break;
                default:
                    if (IsDigit(c))
                    {
                        kind = SqlTokenKind.Number;
                        i = SkipNumber(sql, i);
                    }
                    else if (IsIdentifierStart(c))
                    {
                        kind = SqlTokenKind.Identifier;
                        i = SkipIdentifier(sql, i + 1);
                    }
                    else if (IsOperatorChar(c))
                    {
                        kind = SqlTokenKind.Operator;
                        i = SkipOperator(sql, i);
                    }
                    else
                    {
                        kind = SqlTokenKind.Invalid;
                        i++;
                    }

                    break;
            }

            tokens.Add(new SqlToken(kind, start, i - start, tokenDepth, unterminated));
        }

        tokens.FinalDepth = depth;
    }

    /// <summary>
    /// Why a token makes its statement unreadable — an unterminated string, quoted identifier or comment, or a character
    /// PostgreSQL rejects — in the words of PostgreSQL's own errors; null for a sound token.
    /// </summary>
    public static string? DescribeError(ReadOnlySpan<char> sql, in SqlToken token)
    {
        if (token.IsUnterminated)
        {
            return token.Kind switch
            {
                SqlTokenKind.BlockComment => "unterminated /* comment",
                SqlTokenKind.QuotedIdentifier => "unterminated quoted identifier",
                SqlTokenKind.DollarString => "unterminated dollar-quoted string",
                _ => "unterminated quoted string",
            };
        }

        return token.Kind == SqlTokenKind.Invalid ? $"unexpected character '{sql[token.Start]}'" : null;
    }

    /// <summary>PostgreSQL's whitespace: space, tab, newline, carriage return, form feed, vertical tab.</summary>
    public static bool IsSpace(char c) => c is ' ' or '\t' or '\n' or '\r' or '\f' or '\v';

    public static bool IsIdentifierStart(char c) => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or '_' or >= '\u0080';

    public static bool IsIdentifierPart(char c) => IsIdentifierStart(c) || IsDigit(c) || c == '$';

    private static bool IsDigit(char c) => c is >= '0' and <= '9';

    private static bool IsOperatorChar(char c) =>
        c is '~' or '!' or '@' or '#' or '^' or '&' or '|' or '`' or '?' or '+' or '-' or '*' or '/' or '%' or '<' or '>' or '=';

    private static char At(ReadOnlySpan<char> sql, int index) => index < sql.Length ? sql[index] : '\0';

    private static int SkipLineComment(ReadOnlySpan<char> sql, int i)
    {
        var end = sql[i..].IndexOfAny('\n', '\r');
        return end < 0 ? sql.Length : i + end;
    }

    private static int SkipBlockComment(ReadOnlySpan<char> sql, int i, out bool unterminated)
    {
        var nesting = 1;
        while (i < sql.Length)
        {
            if (sql[i] == '*' && At(sql, i + 1) == '/')
            {
                i += 2;
                if (--nesting == 0)
                {
                    unterminated = false;
                    return i;
                }
            }
            else if (sql[i] == '/' && At(sql, i + 1) == '*')
            {
                nesting++;
                i += 2;
            }
            else
            {
                i++;
            }
        }

        unterminated = true;
        return sql.Length;
    }

    /// <summary>Skips to just after the closing quote; a doubled quote is an escaped quote.</summary>
    private static int SkipQuoted(ReadOnlySpan<char> sql, int i, char quote, bool backslashEscapes, out bool unterminated)
    {
        while (i < sql.Length)
        {
            var c = sql[i];
            if (c == '\\' && backslashEscapes)
            {
                i += 2;
            }
            else if (c == quote)
            {
                if (At(sql, i + 1) == quote)
                {
                    i += 2;
                }
                else
                {
                    unterminated = false;
                    return i + 1;
                }
            }
            else
            {
                i++;
            }
        }

        unterminated = true;
        return sql.Length;
    }

    /// <summary><c>$1</c> (parameter), <c>$$...$$</c> / <c>$tag$...$tag$</c> (dollar-quoted string), or a stray <c>$</c>.</summary>
    private static int LexDollar(ReadOnlySpan<char> sql, int start, out SqlTokenKind kind, out bool unterminated)
    {
        unterminated = false;
        var i = start + 1;
        if (IsDigit(At(sql, i)))
        {
            kind = SqlTokenKind.Parameter;
            while (IsDigit(At(sql, i)))
            {
                i++;
            }

            return i;
        }

        if (i < sql.Length && IsIdentifierStart(sql[i]))
        {
            i++;
            while (i < sql.Length && (IsIdentifierStart(sql[i]) || IsDigit(sql[i])))
            {
                i++;
            }
        }

        if (At(sql, i) != '$')
        {
            kind = SqlTokenKind.Invalid;
            return start + 1;
        }

        kind = SqlTokenKind.DollarString;
        var delimiter = sql[start..(i + 1)];
        var bodyStart = i + 1;
        var close = sql[bodyStart..].IndexOf(delimiter, StringComparison.Ordinal);
        if (close < 0)
        {
            unterminated = true;
            return sql.Length;
        }

        return bodyStart + close + delimiter.Length;
    }

    private static int SkipIdentifier(ReadOnlySpan<char> sql, int i)
    {
        while (i < sql.Length && IsIdentifierPart(sql[i]))
        {
            i++;
        }

        return i;
    }

    /// <summary>Decimal, 0x/0o/0b integers, underscores between digits (PostgreSQL 16), fractions, exponents.</summary>
    private static int SkipNumber(ReadOnlySpan<char> sql, int i)
    {
        if (sql[i] == '0' && At(sql, i + 1) is 'x' or 'X' or 'o' or 'O' or 'b' or 'B' && IsRadixDigit(At(sql, i + 1), At(sql, i + 2)))
        {
            var radix = At(sql, i + 1);
            i += 2;
            while (i < sql.Length && (IsRadixDigit(radix, sql[i]) || (sql[i] == '_' && IsRadixDigit(radix, At(sql, i + 1)))))
            {
                i++;
            }

            return i;
        }

        i = SkipDigits(sql, i);
        if (At(sql, i) == '.' && At(sql, i + 1) != '.')
        {
            i = SkipDigits(sql, i + 1);
        }

        if (At(sql, i) is 'e' or 'E')
        {
            var exponent = i + 1;
            if (At(sql, exponent) is '+' or '-')
            {
                exponent++;
            }

            if (IsDigit(At(sql, exponent)))
            {
                i = SkipDigits(sql, exponent);
            }
        }

        return i;
    }

    private static int SkipDigits(ReadOnlySpan<char> sql, int i)
    {
        while (i < sql.Length && (IsDigit(sql[i]) || (sql[i] == '_' && IsDigit(At(sql, i + 1)) && i > 0 && IsDigit(sql[i - 1]))))
        {
            i++;
        }

        return i;
    }

    private static bool IsRadixDigit(char radix, char c) => radix switch
    {
        'x' or 'X' => char.IsAsciiHexDigit(c),
        'o' or 'O' => c is >= '0' and <= '7',
        _ => c is '0' or '1',
    };

    /// <summary>
    /// PostgreSQL's operator rule: the longest run of operator characters, cut before an embedded <c>--</c> or
    /// <c>/*</c>; a trailing + or - is dropped unless the operator holds one of ~ ! @ # % ^ &amp; | ` ? (so that
    /// <c>a=-1</c> is <c>=</c> then <c>-1</c>).
    /// </summary>
    private static int SkipOperator(ReadOnlySpan<char> sql, int start)
    {
        var end = start + 1;
        while (end < sql.Length && IsOperatorChar(sql[end]))
        {
            if ((sql[end] == '-' && At(sql, end + 1) == '-') || (sql[end] == '/' && At(sql, end + 1) == '*'))
            {
                break;
            }

            end++;
        }

        if (end - start > 1 && sql[end - 1] is '+' or '-' && sql[start..end].IndexOfAny("~!@#%^&|`?") < 0)
        {
            while (end - start > 1 && sql[end - 1] is '+' or '-')
            {
                end--;
            }
        }

        return end;
    }
}
