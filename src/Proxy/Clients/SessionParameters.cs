using System.Text;
using Sluice.Routing.Classification;

namespace Sluice.Proxy.Clients;

/// <summary>
/// The session settings one client asked for (startup parameters, `options=-c …`, values the server reported to it),
/// and how to make a lent server match them: the heart of "nothing a client sets leaks to another client".
/// </summary>
internal sealed class SessionParameters
{
    /// <summary>Reported by the server but fixed for a connection: never SET, never part of a client's session state.</summary>
    private static readonly HashSet<string> s_readOnly = new(StringComparer.OrdinalIgnoreCase)
    {
        "server_version", "server_encoding", "integer_datetimes", "is_superuser", "session_authorization", "in_hot_standby",
    };

    /// <summary>
    /// What a server's entry in <see cref="Servers.ServerConnection.UnreportedSettings"/> holds when nobody knows the value
    /// (a setting a client changed in a batch whose outcome is unknown). No real value contains a NUL, so the next
    /// client's sync sets or resets it.
    /// </summary>
    public const string UnknownValue = "\0unknown";

    // Shared with other sessions that started alike; never written.
    private SessionBaseline _baseline = SessionBaseline.Empty;

    // This session's own values once it changed one; until then (most sessions, for good) it has none.
    private Dictionary<string, string>? _changed;

    public IReadOnlyDictionary<string, string> Values => _changed ?? _baseline.Values;

    /// <summary>The settings the client logged in with (startup parameters and options -c), which RESET returns to.</summary>
    public IEnumerable<KeyValuePair<string, string>> StartupSettings => _baseline.StartupSettings;

    /// <summary>One statement that sets every given setting, as set_config does (any value, list settings included).</summary>
    public static string SetConfigSql(IEnumerable<KeyValuePair<string, string>> settings)
    {
        var sql = new StringBuilder("SELECT ");
        var first = true;
        foreach (var (name, value) in settings)
        {
            if (!first)
            {
                sql.Append(", ");
            }

            first = false;
            sql.Append("pg_catalog.set_config(").Append(QuoteLiteral(name)).Append(", ").Append(QuoteLiteral(value)).Append(", false)");
        }

        return sql.ToString();
    }

    public static bool IsSyncable(string name) => !s_readOnly.Contains(name);

    private Dictionary<string, string> Own() => _changed ??= new(_baseline.Values, StringComparer.OrdinalIgnoreCase);

    /// <summary>The server's defaults first, then what the client sent at startup on top.</summary>
    public void Initialize(IReadOnlyDictionary<string, string> serverDefaults, IReadOnlyList<KeyValuePair<string, string>> startupParameters)
    {
        _baseline = SessionBaseline.For(serverDefaults, startupParameters);
        _changed = null;
    }

    public void Set(string name, string value)
    {
        if (IsSyncable(name) && !(Values.TryGetValue(name, out var current) && current == value))
        {
            Own()[name] = value;
        }
    }

    /// <summary>RESET name: back to what the session started with (startup parameter, else the server's default).</summary>
    public void Reset(string name)
    {
        if (_baseline.Values.TryGetValue(name, out var value))
        {
            Set(name, value);
        }
        else if (Values.ContainsKey(name))
        {
            Own().Remove(name);
        }
    }

    /// <summary>RESET ALL / DISCARD ALL.</summary>
    public void ResetAll() => _changed = null;

    /// <summary>RESET ALL / DISCARD ALL for every setting but those <paramref name="keep"/> names (the ones the server reports itself).</summary>
    public void ResetAllExcept(Func<string, bool> keep)
    {
        var kept = Values.Where(pair => keep(pair.Key)).ToList();
        ResetAll();
        foreach (var (name, value) in kept)
        {
            Set(name, value);
        }
    }

    /// <summary>Applies a SET / RESET / RESET ALL / DISCARD ALL that took effect; <paramref name="keep"/> names are left to ParameterStatus.</summary>
    public void Apply(SessionSetting setting, Func<string, bool> keep)
    {
        switch (setting.Kind)
        {
            case SessionSettingKind.Set when setting.Name is { } name && setting.Value is { } value && !keep(name):
                Set(name, value);
                break;
            case SessionSettingKind.Reset when setting.Name is { } name && !keep(name):
                Reset(name);
                break;
            case SessionSettingKind.ResetAll or SessionSettingKind.DiscardAll:
                ResetAllExcept(keep);
                break;
            default:
                break;
        }
    }

    public bool TryGet(string name, out string? value) => Values.TryGetValue(name, out value);

    /// <summary>
    /// The SQL that makes <paramref name="reported"/> + <paramref name="unreported"/> (what the server has now) equal
    /// to this client's values, or null when they already match. set_config takes any value as a plain string, so a
    /// list setting such as search_path keeps its meaning.
    /// </summary>
    public string? BuildSyncSql(IReadOnlyDictionary<string, string> reported, IReadOnlyDictionary<string, string> unreported)
    {
        StringBuilder? sets = null;
        StringBuilder? resets = null;
        foreach (var (name, value) in Values)
        {
            var has = reported.TryGetValue(name, out var current) || unreported.TryGetValue(name, out current);
            if (has && current == value)
            {
                continue;
            }

            sets = sets is null ? new StringBuilder("SELECT ") : sets.Append(", ");
            sets.Append("pg_catalog.set_config(").Append(QuoteLiteral(name)).Append(", ").Append(QuoteLiteral(value)).Append(", false)");
        }

        foreach (var name in unreported.Keys)
        {
            if (!Values.ContainsKey(name))
            {
                (resets ??= new StringBuilder()).Append("RESET ").Append(QuoteIdentifier(name)).Append(';');
            }
        }

        if (sets is null && resets is null)
        {
            return null;
        }

        return (sets?.Append(';').ToString() ?? "") + (resets?.ToString() ?? "");
    }

    /// <summary>Names whose values a sync sets (for recording them as the server's new state).</summary>
    public IEnumerable<KeyValuePair<string, string>> Differences(IReadOnlyDictionary<string, string> reported, IReadOnlyDictionary<string, string> unreported)
    {
        foreach (var (name, value) in Values)
        {
            var has = reported.TryGetValue(name, out var current) || unreported.TryGetValue(name, out current);
            if (!has || current != value)
            {
                yield return new(name, value);
            }
        }
    }

    /// <summary>"-c name=value --name=value" as libpq's options parameter carries them; backslash escapes a space.</summary>
    public static IEnumerable<KeyValuePair<string, string>> ParseOptions(string options)
    {
        var words = new List<string>();
        var current = new StringBuilder();
        for (var i = 0; i < options.Length; i++)
        {
            var c = options[i];
            if (c == '\\' && i + 1 < options.Length)
            {
                current.Append(options[++i]);
            }
            else if (char.IsWhiteSpace(c))
            {
                if (current.Length > 0)
                {
                    words.Add(current.ToString());
                    current.Clear();
                }
            }
            else
            {
                current.Append(c);
            }
        }

        if (current.Length > 0)
        {
            words.Add(current.ToString());
        }

        for (var i = 0; i < words.Count; i++)
        {
            string? setting = null;
            if (words[i] == "-c" && i + 1 < words.Count)
            {
                setting = words[++i];
            }
            else if (words[i].StartsWith("-c", StringComparison.Ordinal))
            {
                setting = words[i][2..];
            }
            else if (words[i].StartsWith("--", StringComparison.Ordinal))
            {
                setting = words[i][2..];
            }

            var equals = setting?.IndexOf('=', StringComparison.Ordinal) ?? -1;
            if (setting is not null && equals > 0)
            {
                yield return new(setting[..equals].Replace('-', '_'), setting[(equals + 1)..]);
            }
        }
    }

    /// <summary>E'' form when a backslash is present, so the literal means the same whatever standard_conforming_strings is.</summary>
    public static string QuoteLiteral(string value) => value.Contains('\\', StringComparison.Ordinal)
        ? "E'" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "''", StringComparison.Ordinal) + "'"
        : "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";

    public static string QuoteIdentifier(string name) => "\"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}
