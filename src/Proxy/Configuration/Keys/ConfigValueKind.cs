using System.Collections.Immutable;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Sluice.Proxy.Configuration.Keys;

/// <summary>Reads a key's value from a table; false (the problem reported) when absent or invalid.</summary>
internal delegate bool ConfigValueReader<T>(ConfigTable table, string key, out T value);

/// <summary>How one type of value is read from proxy.toml, checked, written back for SHOW CONFIG and named in the docs.</summary>
internal sealed class ConfigValueKind<T>(string type, ConfigValueReader<T> read, Func<T, string> format, bool quoted)
{
    public string Type { get; } = type;

    public bool TryRead(ConfigTable table, string key, out T value) => read(table, key, out value);

    /// <summary>As SHOW CONFIG prints it: "30s", "transaction", "a, b".</summary>
    public string Format(T value) => format(value);

    /// <summary>As proxy.toml writes it: "\"30s\"", "20", "[\"a\", \"b\"]".</summary>
    public string Literal(T value) => value switch
    {
        IEnumerable<string> items => $"[{string.Join(", ", items.Select(item => $"\"{item}\""))}]",
        _ when quoted => $"\"{format(value)}\"",
        _ => format(value),
    };
}

/// <summary>The value types of proxy.toml.</summary>
internal static class ConfigValues
{
    public const string Hidden = "****";

    public static ConfigValueKind<bool> Bool { get; } = new("boolean", (ConfigTable table, string key, out bool value) => Got(table.Bool(key), out value), value => value ? "true" : "false", quoted: false);

    public static ConfigValueKind<string> Text { get; } = Strings(allowEmpty: true);

    public static ConfigValueKind<string> NonEmptyText { get; } = Strings(allowEmpty: false);

    /// <summary>A password: read as text, never shown.</summary>
    public static ConfigValueKind<string> Secret { get; } = new("string (secret)", (ConfigTable table, string key, out string value) => GotText(table.String(key), out value), _ => Hidden, quoted: true);

    public static ConfigValueKind<ImmutableArray<string>> TextList { get; } = new("array of strings", ReadList, FormatList, quoted: true);

    public static ConfigValueKind<ImmutableArray<string>> ListenAddresses { get; } = new("array of \"host:port\"", ReadListenAddresses, FormatList, quoted: true);

    /// <summary>One "host:port", or "" for none.</summary>
    public static ConfigValueKind<string> HttpListenAddress { get; } = new("\"host:port\" or \"\"", ReadHttpListen, value => value, quoted: true);

    public static ConfigValueKind<ImmutableArray<string>> CidrBlocks { get; } = new("array of CIDR blocks", ReadCidrBlocks, FormatList, quoted: true);

    public static ConfigValueKind<TimeSpan> Duration(bool allowZero = true) => new(
        allowZero ? "duration" : "duration (greater than 0)",
        (ConfigTable table, string key, out TimeSpan value) => Got(table.Duration(key, allowZero), out value),
        ConfigDuration.Format,
        quoted: true);

    public static ConfigValueKind<int> Integer(int min, int max = int.MaxValue) => new(
        max == int.MaxValue ? $"integer (at least {min})" : $"integer ({min} to {max})",
        (ConfigTable table, string key, out int value) => Got(table.Int(key, min, max), out value),
        value => value.ToString(CultureInfo.InvariantCulture),
        quoted: false);

    public static ConfigValueKind<TEnum> Enum<TEnum>(EnumNames<TEnum> names)
        where TEnum : struct, Enum => new(
        string.Join(" | ", names.Names.Select(name => $"\"{name}\"")),
        (ConfigTable table, string key, out TEnum value) => Got(table.Enum(key, names), out value),
        names.Format,
        quoted: true);

    private static ConfigValueKind<string> Strings(bool allowEmpty) => new(
        allowEmpty ? "string" : "string (not empty)",
        (ConfigTable table, string key, out string value) => GotText(table.String(key, allowEmpty), out value),
        value => value,
        quoted: true);

    private static bool Got<TValue>(TValue? read, out TValue value)
        where TValue : struct
    {
        value = read.GetValueOrDefault();
        return read.HasValue;
    }

    private static bool GotText(string? read, out string value)
    {
        value = read ?? "";
        return read is not null;
    }

    private static string FormatList(ImmutableArray<string> values) => string.Join(", ", values);

    private static bool ReadList(ConfigTable table, string key, out ImmutableArray<string> value)
    {
        var items = table.StringArray(key);
        value = items is { } read ? [.. read.Select(item => item.Value)] : [];
        return items is not null;
    }

    private static bool ReadListenAddresses(ConfigTable table, string key, out ImmutableArray<string> value)
    {
        var items = table.StringArray(key);
        value = items is { } read ? [.. read.Select(item => item.Value)] : [];
        if (items is { IsEmpty: true })
        {
            table.Error(key, table.LineOf(key), $"{table.Name(key)} must list at least one address, e.g. [\"127.0.0.1:6432\"]");
            return false;
        }

        var valid = items is not null;
        foreach (var (address, line) in items ?? [])
        {
            if (!ListenAddress.TryParse(address, out _, out var reason))
            {
                table.Error(key, line, $"{table.Name(key)}: invalid address \"{address}\": {reason}");
                valid = false;
            }
        }

        return valid;
    }

    private static bool ReadHttpListen(ConfigTable table, string key, out string value)
    {
        if (!GotText(table.String(key), out value))
        {
            return false;
        }

        if (value.Length > 0 && !ListenAddress.TryParse(value, out _, out var reason))
        {
            table.Error(key, table.LineOf(key), $"{table.Name(key)}: invalid address \"{value}\": {reason} (or \"\" for no HTTP listener)");
            return false;
        }

        return true;
    }

    private static bool ReadCidrBlocks(ConfigTable table, string key, out ImmutableArray<string> value)
    {
        var items = table.StringArray(key);
        value = items is { } read ? [.. read.Select(item => item.Value)] : [];
        var valid = items is not null;
        foreach (var (block, line) in items ?? [])
        {
            if (!IsValidCidr(block, out var reason))
            {
                table.Error(key, line, $"{table.Name(key)}: {reason}");
                valid = false;
            }
        }

        return valid;
    }

    private static bool IsValidCidr(string text, out string? reason)
    {
        // IPAddress.TryParse (and so IPNetwork) takes shorthand such as "10.1" for 10.0.0.1: not what anyone means here.
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        var addressText = slash < 0 ? text : text[..slash];
        if (!IPAddress.TryParse(addressText, out var address) || (address.AddressFamily == AddressFamily.InterNetwork && addressText.Count(c => c == '.') != 3))
        {
            reason = $"\"{text}\" is not a CIDR block such as \"10.0.0.0/8\" or \"::1/128\"";
            return false;
        }

        var bits = address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        if (slash < 0)
        {
            reason = $"\"{text}\" has no prefix length; write \"{text}/{bits}\" for this one address";
            return false;
        }

        if (!int.TryParse(text.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var prefix) || prefix > bits)
        {
            reason = $"\"{text}\": the prefix length must be a number from 0 to {bits}";
            return false;
        }

        // Bits set past the prefix ("10.0.0.1/8") are ambiguous: one host, or the whole block? Say which block it is.
        var bytes = address.GetAddressBytes();
        var masked = (byte[])bytes.Clone();
        for (var i = 0; i < masked.Length; i++)
        {
            var keep = Math.Clamp(prefix - (i * 8), 0, 8);
            masked[i] &= (byte)(0xFF << (8 - keep));
        }

        if (!bytes.AsSpan().SequenceEqual(masked))
        {
            reason = $"\"{text}\" has bits set past its /{prefix} prefix; did you mean \"{new IPAddress(masked)}/{prefix}\"?";
            return false;
        }

        if (!IPNetwork.TryParse(text, out _))
        {
            reason = $"\"{text}\" is not a CIDR block such as \"10.0.0.0/8\" or \"::1/128\"";
            return false;
        }

        reason = null;
        return true;
    }
}
