using System.Globalization;
using System.Text;

namespace Sluice.Routing.Classification;

/// <summary>Reads the text of tokens: keyword comparison, identifier folding, string decoding.</summary>
public static class TokenText
{
    /// <summary>
    /// Compares an unquoted identifier with a lower-case ASCII keyword the way PostgreSQL folds names (ASCII letters
    /// only, so no culture or Unicode case-folding surprise can turn a non-ASCII name into a keyword).
    /// </summary>
    public static bool EqualsKeyword(ReadOnlySpan<char> text, string keyword)
    {
        if (text.Length != keyword.Length)
        {
            return false;
        }

        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c is >= 'A' and <= 'Z')
            {
                c = (char)(c + ('a' - 'A'));
            }

            if (c != keyword[i])
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Lower-cases ASCII letters only, as PostgreSQL folds unquoted identifiers.</summary>
    public static string FoldIdentifier(ReadOnlySpan<char> text) => string.Create(text.Length, text, static (span, source) =>
    {
        for (var i = 0; i < source.Length; i++)
        {
            var c = source[i];
            span[i] = c is >= 'A' and <= 'Z' ? (char)(c + ('a' - 'A')) : c;
        }
    });

    /// <summary>The name a name token stands for: folded when unquoted, unescaped when quoted.</summary>
    public static string Name(string sql, in SqlToken token)
    {
        var text = sql.AsSpan(token.Start, token.Length);
        if (token.Kind != SqlTokenKind.QuotedIdentifier)
        {
            return FoldIdentifier(text);
        }

        var prefix = text[0] == '"' ? 1 : 3;
        var end = token.IsUnterminated ? text.Length : text.Length - 1;
        return end <= prefix ? "" : text[prefix..end].ToString().Replace("\"\"", "\"", StringComparison.Ordinal);
    }

    /// <summary>The value of a string literal token (quotes removed, escapes decoded as far as routing needs).</summary>
    public static string StringValue(string sql, in SqlToken token, bool standardConformingStrings)
    {
        var text = sql.AsSpan(token.Start, token.Length);
        switch (token.Kind)
        {
            case SqlTokenKind.DollarString:
                {
                    var tagLength = text[1..].IndexOf('$') + 2;
                    return text.Length >= 2 * tagLength ? text[tagLength..^tagLength].ToString() : text[tagLength..].ToString();
                }

            case SqlTokenKind.EscapeString:
                return Unquote(text[2..], token.IsUnterminated, backslashEscapes: true);
            case SqlTokenKind.UnicodeString:
                return Unquote(text[3..], token.IsUnterminated, backslashEscapes: false);
            case SqlTokenKind.BitString or SqlTokenKind.HexString:
                return Unquote(text[2..], token.IsUnterminated, backslashEscapes: false);
            default:
                var body = text[0] == '\'' ? text[1..] : text[2..];
                return Unquote(body, token.IsUnterminated, backslashEscapes: !standardConformingStrings);
        }
    }

    private static string Unquote(ReadOnlySpan<char> body, bool unterminated, bool backslashEscapes)
    {
        if (!unterminated && body.Length > 0)
        {
            body = body[..^1];
        }

        if (body.IndexOfAny('\'', '\\') < 0)
        {
            return body.ToString();
        }

        var builder = new StringBuilder(body.Length);
        for (var i = 0; i < body.Length; i++)
        {
            var c = body[i];
            if (c == '\'' && i + 1 < body.Length && body[i + 1] == '\'')
            {
                builder.Append('\'');
                i++;
            }
            else if (c == '\\' && backslashEscapes && i + 1 < body.Length)
            {
                i = AppendEscape(body, i + 1, builder);
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }

    /// <summary>Decodes the escape whose letter is at <paramref name="i"/>; returns the index of its last character.</summary>
    private static int AppendEscape(ReadOnlySpan<char> body, int i, StringBuilder builder)
    {
        var c = body[i];
        switch (c)
        {
            case 'b': builder.Append('\b'); return i;
            case 'f': builder.Append('\f'); return i;
            case 'n': builder.Append('\n'); return i;
            case 'r': builder.Append('\r'); return i;
            case 't': builder.Append('\t'); return i;
            case 'x':
                return AppendCodePoint(body, i + 1, maxDigits: 2, NumberStyles.HexNumber, builder, fallback: c) ?? i;
            case 'u':
                return AppendCodePoint(body, i + 1, maxDigits: 4, NumberStyles.HexNumber, builder, fallback: c, exact: true) ?? i;
            case 'U':
                return AppendCodePoint(body, i + 1, maxDigits: 8, NumberStyles.HexNumber, builder, fallback: c, exact: true) ?? i;
            case >= '0' and <= '7':
                {
                    var end = i;
                    while (end < body.Length && end - i < 3 && body[end] is >= '0' and <= '7')
                    {
                        end++;
                    }

                    var value = 0;
                    foreach (var digit in body[i..end])
                    {
                        value = (value * 8) + (digit - '0');
                    }

                    builder.Append((char)(value & 0xFF));
                    return end - 1;
                }

            default:
                builder.Append(c);
                return i;
        }
    }

    private static int? AppendCodePoint(ReadOnlySpan<char> body, int start, int maxDigits, NumberStyles style, StringBuilder builder, char fallback, bool exact = false)
    {
        var end = start;
        while (end < body.Length && end - start < maxDigits && char.IsAsciiHexDigit(body[end]))
        {
            end++;
        }

        if (end == start || (exact && end - start != maxDigits)
            || !int.TryParse(body[start..end], style, CultureInfo.InvariantCulture, out var value)
            || value is < 0 or > 0x10FFFF or (>= 0xD800 and <= 0xDFFF))
        {
            builder.Append(fallback);
            return null;
        }

        builder.Append(char.ConvertFromUtf32(value));
        return end - 1;
    }
}
