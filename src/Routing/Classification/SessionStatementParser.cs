using System.Text;

namespace Sluice.Routing.Classification;

/// <summary>
/// SET / RESET / DISCARD: which session state they change, the transaction access mode of SET TRANSACTION, and the
/// proxy's own <c>sluice.route</c> setting. Routed as reads: they write no data and a hot standby accepts them
/// (except SET TRANSACTION READ WRITE and its equivalents, which are writes).
/// </summary>
internal static class SessionStatementParser
{
    public static StatementFacts Set(ParsedText text, int start, int end)
    {
        var i = start + 1;
        var local = false;
        if (text.IsWord(i, "local", end))
        {
            local = true;
            i++;
        }
        else if (text.IsWord(i, "session", end) && !text.IsWord(i + 1, "authorization", end) && !text.IsWord(i + 1, "characteristics", end))
        {
            i++;
        }

        if (text.IsWord(i, "transaction", end))
        {
            return SetTransaction(StatementAccessMode(text, i + 1, end), StatementKind.SetTransaction);
        }

        if (text.IsWord(i, "session", end) && text.IsWord(i + 1, "characteristics", end))
        {
            return SetSessionCharacteristics(text, i + 2, end, local);
        }

        if (text.IsWord(i, "constraints", end))
        {
            return StatementFacts.Read(StatementKind.Set);
        }

        if (IsSluiceRoute(text, i, end, out var afterName))
        {
            return SetSluiceRoute(text, afterName, end, local);
        }

        // The special forms of SET, then the generic one.
        string name;
        int valueStart;
        var resetWord = "default";
        if (text.IsWord(i, "time", end) && text.IsWord(i + 1, "zone", end))
        {
            (name, valueStart, resetWord) = ("TimeZone", i + 2, "local");
        }
        else if (text.IsWord(i, "names", end))
        {
            (name, valueStart) = ("client_encoding", i + 1);
        }
        else if (text.IsWord(i, "schema", end))
        {
            (name, valueStart) = ("search_path", i + 1);
        }
        else if (text.IsWord(i, "role", end))
        {
            (name, valueStart, resetWord) = ("role", i + 1, "none");
        }
        else if (text.IsWord(i, "session", end) && text.IsWord(i + 1, "authorization", end))
        {
            (name, valueStart) = ("session_authorization", i + 2);
        }
        else if (text.IsWord(i, "xml", end) && text.IsWord(i + 1, "option", end))
        {
            (name, valueStart) = ("xmloption", i + 2);
        }
        else
        {
            if (!TryReadParameterName(text, i, end, out var parameter, out var afterParameter))
            {
                return StatementFacts.Unknown("SET without a parameter name", StatementKind.Set);
            }

            if (!text.IsWord(afterParameter, "to", end) && !IsEquals(text, afterParameter, end))
            {
                return StatementFacts.Unknown("SET without TO or =", StatementKind.Set);
            }

            (name, valueStart) = (parameter, afterParameter + 1);
        }

        if (valueStart >= end)
        {
            return StatementFacts.Unknown("SET without a value", StatementKind.Set);
        }

        var isReset = valueStart + 1 == end && (text.IsWord(valueStart, "default", end) || text.IsWord(valueStart, resetWord, end));
        string? value = null;
        if (!isReset && !TryReadValue(text, valueStart, end, s_listQuote.Contains(name), out value))
        {
            return StatementFacts.Unknown("SET with a malformed value", StatementKind.Set);
        }

        // SET transaction_read_only is SET TRANSACTION READ ONLY / READ WRITE spelled as a parameter.
        if (name == "transaction_read_only" && value is not null)
        {
            var mode = IsOn(value) ? TransactionAccessMode.ReadOnly
                : IsOff(value) ? TransactionAccessMode.ReadWrite
                : TransactionAccessMode.Unspecified;
            return SetTransaction(mode, StatementKind.SetTransaction);
        }

        var facts = StatementFacts.Read(StatementKind.Set);
        if (!local)
        {
            facts.AddSetting(isReset
                ? new SessionSetting(SessionSettingKind.Reset, name, null, null)
                : new SessionSetting(SessionSettingKind.Set, name, value, text.Source(valueStart, end - 1)));
        }

        return facts;
    }

    public static StatementFacts Reset(ParsedText text, int start, int end)
    {
        var i = start + 1;
        var facts = StatementFacts.Read(StatementKind.Reset);
        if (text.IsWord(i, "all", end) && i + 1 == end)
        {
            facts.AddSetting(new SessionSetting(SessionSettingKind.ResetAll, null, null, null));
            return facts;
        }

        if (IsSluiceRoute(text, i, end, out var afterRoute) && afterRoute == end)
        {
            facts.SessionRoute = SessionRouteCommand.Auto;
            return facts;
        }

        string name;
        if (text.IsWord(i, "time", end) && text.IsWord(i + 1, "zone", end) && i + 2 == end)
        {
            name = "TimeZone";
        }
        else if (text.IsWord(i, "session", end) && text.IsWord(i + 1, "authorization", end) && i + 2 == end)
        {
            name = "session_authorization";
        }
        else if (text.IsWord(i, "transaction", end) && text.IsWord(i + 1, "isolation", end) && text.IsWord(i + 2, "level", end) && i + 3 == end)
        {
            return facts; // transaction state, not session state
        }
        else if (TryReadParameterName(text, i, end, out var parameter, out var after) && after == end)
        {
            name = parameter;
        }
        else
        {
            return StatementFacts.Unknown("RESET without a parameter name", StatementKind.Reset);
        }

        facts.AddSetting(new SessionSetting(SessionSettingKind.Reset, name, null, null));
        return facts;
    }

    public static StatementFacts Discard(ParsedText text, int start, int end)
    {
        var i = start + 1;
        if (i + 1 != end)
        {
            return StatementFacts.Unknown("DISCARD needs one of ALL, PLANS, SEQUENCES, TEMP", StatementKind.Discard);
        }

        SessionSettingKind? kind = text.IsWord(i, "all", end) ? SessionSettingKind.DiscardAll
            : text.IsWord(i, "plans", end) ? SessionSettingKind.DiscardPlans
            : text.IsWord(i, "sequences", end) ? SessionSettingKind.DiscardSequences
            : text.IsWord(i, "temp", end) || text.IsWord(i, "temporary", end) ? SessionSettingKind.DiscardTemp
            : null;
        if (kind is null)
        {
            return StatementFacts.Unknown("DISCARD needs one of ALL, PLANS, SEQUENCES, TEMP", StatementKind.Discard);
        }

        var facts = StatementFacts.Read(StatementKind.Discard);
        facts.AddSetting(new SessionSetting(kind.Value, null, null, null));
        return facts;
    }

    /// <summary>Whether tokens at <paramref name="i"/> are the name <c>sluice.route</c> (any case, quoted or not).</summary>
    public static bool IsSluiceRoute(ParsedText text, int i, int end, out int after)
    {
        after = i + 3;
        var tokens = text.Tokens;
        return i + 2 < end && tokens[i].IsName && tokens[i + 1].Kind == SqlTokenKind.Dot && tokens[i + 2].IsName
            && text.Name(i) == "sluice" && text.Name(i + 2) == "route";
    }

    private static StatementFacts SetSluiceRoute(ParsedText text, int afterName, int end, bool local)
    {
        var facts = StatementFacts.Read(StatementKind.Set);
        var valueIndex = afterName + 1;
        var hasValue = (text.IsWord(afterName, "to", end) || IsEquals(text, afterName, end)) && valueIndex + 1 == end
            && (text.Tokens[valueIndex].IsName || text.Tokens[valueIndex].IsStringLiteral);
        var value = hasValue ? text.Value(valueIndex) : valueIndex < end ? text.Source(valueIndex, end - 1) : null;
        facts.SessionRouteValue = value;
        facts.SessionRoute = !hasValue || local ? SessionRouteCommand.Invalid
            : value!.ToLowerInvariant() switch
            {
                "primary" => SessionRouteCommand.Primary,
                "replica" => SessionRouteCommand.Replica,
                "auto" or "default" => SessionRouteCommand.Auto,
                _ => SessionRouteCommand.Invalid,
            };
        return facts;
    }

    private static StatementFacts SetTransaction(TransactionAccessMode mode, StatementKind kind)
    {
        var facts = mode == TransactionAccessMode.ReadWrite
            ? StatementFacts.Write(kind, "SET TRANSACTION READ WRITE")
            : StatementFacts.Read(kind);
        facts.AccessMode = mode;
        return facts;
    }

    private static TransactionAccessMode StatementAccessMode(ParsedText text, int start, int end) =>
        StatementAnalyzer.AccessModeOf(text, start, end);

    /// <summary><c>SET SESSION CHARACTERISTICS AS TRANSACTION modes</c>: the session's default transaction modes.</summary>
    private static StatementFacts SetSessionCharacteristics(ParsedText text, int i, int end, bool local)
    {
        if (!text.IsWord(i, "as", end) || !text.IsWord(i + 1, "transaction", end))
        {
            return StatementFacts.Unknown("SET SESSION CHARACTERISTICS without AS TRANSACTION", StatementKind.SetSessionCharacteristics);
        }

        var modes = i + 2;
        var mode = StatementAccessMode(text, modes, end);
        var facts = SetTransaction(mode, StatementKind.SetSessionCharacteristics);
        if (local)
        {
            return facts;
        }

        if (mode != TransactionAccessMode.Unspecified)
        {
            var on = mode == TransactionAccessMode.ReadOnly ? "on" : "off";
            facts.AddSetting(new SessionSetting(SessionSettingKind.Set, "default_transaction_read_only", on, on));
        }

        for (var k = modes; k < end; k++)
        {
            if (text.IsWord(k, "isolation", end) && text.IsWord(k + 1, "level", end) && k + 2 < end)
            {
                var level = text.Name(k + 2);
                if (level is "read" or "repeatable" && k + 3 < end && text.Tokens[k + 3].Kind == SqlTokenKind.Identifier)
                {
                    level += " " + text.Name(k + 3);
                }

                facts.AddSetting(new SessionSetting(SessionSettingKind.Set, "default_transaction_isolation", level, $"'{level}'"));
            }
            else if (text.IsWord(k, "deferrable", end))
            {
                var value = text.IsWord(k - 1, "not", end) ? "off" : "on";
                facts.AddSetting(new SessionSetting(SessionSettingKind.Set, "default_transaction_deferrable", value, value));
            }
        }

        return facts;
    }

    /// <summary>A parameter name: <c>name</c> or <c>prefix.name</c> (custom options), folded; well-known names get PostgreSQL's capitals.</summary>
    private static bool TryReadParameterName(ParsedText text, int i, int end, out string name, out int after)
    {
        var tokens = text.Tokens;
        name = "";
        after = i;
        if (i >= end || !tokens[i].IsName)
        {
            return false;
        }

        var builder = new StringBuilder(text.Name(i));
        after = i + 1;
        while (after + 1 < end && tokens[after].Kind == SqlTokenKind.Dot && tokens[after + 1].IsName)
        {
            builder.Append('.').Append(text.Name(after + 1));
            after += 2;
        }

        name = CanonicalName(builder.ToString());
        return true;
    }

    /// <summary>PostgreSQL reports these in ParameterStatus with capitals; the others are lower case.</summary>
    internal static string CanonicalName(string name) => name switch
    {
        "timezone" => "TimeZone",
        "datestyle" => "DateStyle",
        "intervalstyle" => "IntervalStyle",
        _ => name,
    };

    /// <summary>Settings whose value is a list of names PostgreSQL stores quoted (GUC_LIST_QUOTE).</summary>
    private static readonly HashSet<string> s_listQuote = new(StringComparer.Ordinal)
    {
        "search_path", "temp_tablespaces", "session_preload_libraries", "local_preload_libraries",
    };

    private static bool IsEquals(ParsedText text, int i, int end) =>
        i < end && text.Tokens[i].Kind == SqlTokenKind.Operator && text.Text(i) is "=";

    /// <summary>
    /// Reads a comma-separated value list; each item one literal, a signed number, or a few words (kept as written). For
    /// a list of names (<paramref name="quoteItems"/>: search_path, …) each item is quoted as PostgreSQL stores it
    /// (<c>SET search_path TO "My Schema", public</c> is <c>"My Schema", public</c>), so the value means the same when
    /// given back to set_config.
    /// </summary>
    private static bool TryReadValue(ParsedText text, int start, int end, bool quoteItems, out string? value)
    {
        var tokens = text.Tokens;
        var builder = new StringBuilder();
        var itemStart = start;
        for (var i = start; i <= end; i++)
        {
            if (i < end && tokens[i].Kind != SqlTokenKind.Comma)
            {
                continue;
            }

            if (i == itemStart)
            {
                value = null;
                return false;
            }

            if (builder.Length > 0)
            {
                builder.Append(", ");
            }

            if (i - itemStart != 1)
            {
                builder.Append(text.Source(itemStart, i - 1));
            }
            else if (quoteItems)
            {
                AppendQuotedIdentifier(builder, text.Value(itemStart));
            }
            else
            {
                builder.Append(text.Value(itemStart));
            }

            itemStart = i + 1;
        }

        value = builder.ToString();
        return true;
    }

    /// <summary>quote_identifier: plain when only lower-case letters, digits and underscores (not first a digit), else in double quotes.</summary>
    private static void AppendQuotedIdentifier(StringBuilder builder, string name)
    {
        var plain = name.Length > 0 && name[0] is (>= 'a' and <= 'z') or '_';
        foreach (var c in name)
        {
            plain &= c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '_';
        }

        if (plain)
        {
            builder.Append(name);
        }
        else
        {
            builder.Append('"').Append(name.Replace("\"", "\"\"", StringComparison.Ordinal)).Append('"');
        }
    }

    internal static bool IsOn(string value) => value.ToLowerInvariant() is "on" or "true" or "1" or "yes" or "t" or "y";

    internal static bool IsOff(string value) => value.ToLowerInvariant() is "off" or "false" or "0" or "no" or "f" or "n";
}
