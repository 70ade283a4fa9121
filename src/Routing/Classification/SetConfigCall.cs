namespace Sluice.Routing.Classification;

/// <summary>What a <c>set_config(name, value, is_local)</c> call does to the session, as far as its text tells.</summary>
internal enum SetConfigEffect
{
    /// <summary>Literal arguments: the setting is known (<c>SELECT pg_catalog.set_config('search_path', '', false)</c>, as pg_dump sends).</summary>
    Setting,

    /// <summary><c>is_local</c> is true: the value lasts until the end of the transaction, like SET LOCAL.</summary>
    TransactionScoped,

    /// <summary>A name, value or is_local that is not a literal (<c>$1</c>, a column, an expression): the setting cannot be known.</summary>
    Untracked,
}

/// <summary>
/// Reads the arguments of a <c>set_config</c> call: string literals (<c>'x'</c>, <c>E'x'</c>, <c>$$x$$</c>, optionally
/// cast: <c>'x'::text</c>), NULL for the value (a reset), and <c>true</c> / <c>false</c> (or a boolean string) for
/// is_local. It changes session state PostgreSQL does not always report (search_path), so a pooler must track it like SET.
/// </summary>
internal static class SetConfigCall
{
    /// <summary>Reads the call whose argument list opens at <paramref name="open"/>.</summary>
    public static SetConfigEffect Read(ParsedText text, int open, int end, out SessionSetting? setting)
    {
        setting = null;
        var close = text.Match(open);
        if (close < 0 || close >= end)
        {
            return SetConfigEffect.Untracked;
        }

        // Three arguments, each a literal (its token index) or anything else (-1): set_config(name, value, is_local).
        Span<int> arguments = stackalloc int[3];
        var count = 0;
        var start = open + 1;
        for (var i = start; i <= close; i++)
        {
            if (text.IsKind(i, SqlTokenKind.LeftParen, close))
            {
                var inner = text.Match(i);
                if (inner <= i || inner >= close)
                {
                    return SetConfigEffect.Untracked;
                }

                i = inner;
                continue;
            }

            if (i < close && !text.IsKind(i, SqlTokenKind.Comma, close))
            {
                continue;
            }

            if (count == arguments.Length)
            {
                return SetConfigEffect.Untracked;
            }

            arguments[count++] = ReadLiteral(text, start, i);
            start = i + 1;
        }

        if (count != arguments.Length)
        {
            return SetConfigEffect.Untracked;
        }

        var (nameToken, valueToken, localToken) = (arguments[0], arguments[1], arguments[2]);
        if (localToken < 0 || nameToken < 0 || valueToken < 0)
        {
            return localToken >= 0 && IsBoolean(text, localToken) == true ? SetConfigEffect.TransactionScoped : SetConfigEffect.Untracked;
        }

        var isLocal = IsBoolean(text, localToken);
        if (isLocal is null || !text.Tokens[nameToken].IsStringLiteral)
        {
            return isLocal == true ? SetConfigEffect.TransactionScoped : SetConfigEffect.Untracked;
        }

        if (isLocal.Value)
        {
            return SetConfigEffect.TransactionScoped;
        }

        var name = SessionStatementParser.CanonicalName(text.Value(nameToken).ToLowerInvariant());
        if (text.IsWord(valueToken, "null", close))
        {
            setting = new SessionSetting(SessionSettingKind.Reset, name, null, null);
            return SetConfigEffect.Setting;
        }

        if (!text.Tokens[valueToken].IsStringLiteral)
        {
            return SetConfigEffect.Untracked;
        }

        setting = new SessionSetting(SessionSettingKind.Set, name, text.Value(valueToken), text.Source(valueToken, valueToken));
        return SetConfigEffect.Setting;
    }

    /// <summary>
    /// The literal token when tokens [<paramref name="start"/>, <paramref name="end"/>) are a string literal, NULL, TRUE
    /// or FALSE with an optional <c>::type</c> (a plain or qualified name); else -1.
    /// </summary>
    private static int ReadLiteral(ParsedText text, int start, int end)
    {
        if (start >= end)
        {
            return -1;
        }

        if (!text.Tokens[start].IsStringLiteral && !text.IsWord(start, "null", end) && !text.IsWord(start, "true", end)
            && !text.IsWord(start, "false", end))
        {
            return -1;
        }

        var i = start + 1;
        if (text.IsKind(i, SqlTokenKind.Typecast, end))
        {
            i++;
            if (i >= end || !text.Tokens[i].IsName)
            {
                return -1;
            }

            i++;
            while (text.IsKind(i, SqlTokenKind.Dot, end) && i + 1 < end && text.Tokens[i + 1].IsName)
            {
                i += 2;
            }
        }

        return i == end ? start : -1;
    }

    /// <summary>true / false for TRUE, FALSE and the strings PostgreSQL reads as booleans; null when not known.</summary>
    private static bool? IsBoolean(ParsedText text, int i)
    {
        if (text.IsWord(i, "true", i + 1))
        {
            return true;
        }

        if (text.IsWord(i, "false", i + 1))
        {
            return false;
        }

        if (!text.Tokens[i].IsStringLiteral)
        {
            return null;
        }

        var value = text.Value(i).Trim();
        return SessionStatementParser.IsOn(value) ? true : SessionStatementParser.IsOff(value) ? false : null;
    }
}
