using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text;

namespace Sluice.Proxy.Clients;

/// <summary>
/// What a session starts with: the server's defaults with the client's startup settings (parameters and
/// <c>options=-c …</c>) on top, which RESET returns to. Immutable, and shared by every client that logged in with the
/// same settings to servers that reported the same defaults — the instances of one application all send the same
/// startup packet — so an idle client holds a reference here instead of a dictionary of its own.
/// </summary>
internal sealed class SessionBaseline
{
    /// <summary>Distinct combinations of startup settings shared per set of server defaults; beyond that, not shared.</summary>
    private const int MaxSharedPerDefaults = 256;

    /// <summary>Startup parameters that are not settings.</summary>
    private static readonly HashSet<string> s_notSettings = new(StringComparer.Ordinal)
    {
        "user", "database", "options", "replication",
    };

    // Keyed by the pool's dictionary of server defaults (one object per pool), so a pool that goes away takes its
    // baselines with it.
    private static readonly ConditionalWeakTable<IReadOnlyDictionary<string, string>, ConcurrentDictionary<string, SessionBaseline>> s_shared = new();

    private SessionBaseline(IReadOnlyDictionary<string, string> serverDefaults, KeyValuePair<string, string>[] startupSettings)
    {
        ServerDefaults = serverDefaults;
        StartupSettings = startupSettings;
        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in serverDefaults)
        {
            if (SessionParameters.IsSyncable(name))
            {
                values[name] = value;
            }
        }

        foreach (var (name, value) in startupSettings)
        {
            values[name] = value;
        }

        Values = values;
    }

    /// <summary>Before login: nothing known.</summary>
    public static SessionBaseline Empty { get; } = new(new Dictionary<string, string>(), []);

    public IReadOnlyDictionary<string, string> ServerDefaults { get; }

    /// <summary>The settings the client logged in with, options expanded, in the order sent.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> StartupSettings { get; }

    /// <summary>Every setting's value at the start of the session (never written after construction).</summary>
    public IReadOnlyDictionary<string, string> Values { get; }

    public static SessionBaseline For(IReadOnlyDictionary<string, string> serverDefaults, IReadOnlyList<KeyValuePair<string, string>> startupParameters)
    {
        var settings = SettingsOf(startupParameters);
        var shared = s_shared.GetValue(serverDefaults, static _ => new(StringComparer.Ordinal));
        var key = KeyOf(settings);
        if (shared.TryGetValue(key, out var known))
        {
            return known;
        }

        var made = new SessionBaseline(serverDefaults, settings);
        return shared.Count < MaxSharedPerDefaults ? shared.GetOrAdd(key, made) : made;
    }

    private static KeyValuePair<string, string>[] SettingsOf(IReadOnlyList<KeyValuePair<string, string>> startupParameters)
    {
        var settings = new List<KeyValuePair<string, string>>(startupParameters.Count);
        foreach (var (name, value) in startupParameters)
        {
            if (name == "options")
            {
                settings.AddRange(SessionParameters.ParseOptions(value));
            }
            else if (!s_notSettings.Contains(name) && SessionParameters.IsSyncable(name))
            {
                settings.Add(new(name, value));
            }
        }

        return [.. settings];
    }

    /// <summary>Names and values separated by NUL, which no startup string can contain.</summary>
    private static string KeyOf(KeyValuePair<string, string>[] settings)
    {
        var key = new StringBuilder();
        foreach (var (name, value) in settings)
        {
            key.Append(name).Append('\0').Append(value).Append('\0');
        }

        return key.ToString();
    }
}
