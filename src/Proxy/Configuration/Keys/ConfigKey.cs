namespace Sluice.Proxy.Configuration.Keys;

/// <summary>
/// One key of proxy.toml, described once: where it lives, its type, its default, what a reload does with it and one
/// line of help. Binding, SHOW CONFIG and docs/configuration.md all read this description.
/// </summary>
internal abstract class ConfigKey(string section, string name, string type, string? defaultText, bool defaultIsValue, ReloadEffect reload, string help)
{
    /// <summary>"server", "users", "databases.servers".</summary>
    public string Section { get; } = section;

    public string Name { get; } = name;

    /// <summary>"duration", "integer (at least 1)", "\"session\" | \"transaction\"": for people, not for parsing.</summary>
    public string Type { get; } = type;

    /// <summary>The default as proxy.toml writes it ("\"30s\"", "20"); for an entry's key, what it falls back to; null when required.</summary>
    public string? Default { get; } = defaultText;

    /// <summary>True when <see cref="Default"/> is a value as proxy.toml writes it, false when it says where the value comes from.</summary>
    public bool DefaultIsValue { get; } = defaultIsValue;

    public ReloadEffect Reload { get; } = reload;

    public string Help { get; } = help;

    /// <summary>"server.listen".</summary>
    public string Path => $"{Section}.{Name}";
}

/// <summary>A key of one record type (<typeparamref name="TOwner"/>): a section such as <see cref="PoolSection"/> or an entry such as <see cref="UserConfig"/>.</summary>
internal sealed class ConfigKey<TOwner>(
    string section,
    string name,
    string type,
    string? defaultText,
    bool defaultIsValue,
    ReloadEffect reload,
    string help,
    Func<ConfigTable, string, TOwner, TOwner>? bind,
    Func<TOwner, string?> show)
    : ConfigKey(section, name, type, defaultText, defaultIsValue, reload, help)
{
    /// <summary>
    /// Reads the key from <paramref name="table"/> into <paramref name="owner"/>: unchanged when absent or invalid
    /// (the error is reported). A key without a binding here is read by <see cref="ConfigBinder"/> itself.
    /// </summary>
    public TOwner Bind(ConfigTable table, TOwner owner) => bind is null ? owner : bind(table, Name, owner);

    /// <summary>The value as SHOW CONFIG prints it; null when an entry leaves it unset.</summary>
    public string? Show(TOwner owner) => show(owner);
}
