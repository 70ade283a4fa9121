namespace Sluice.Proxy.Configuration.Keys;

/// <summary>One key's setting in force, as SHOW CONFIG lists it.</summary>
internal readonly record struct ConfigSetting(ConfigKey Key, string Path, string? Value, string? Default);

/// <summary>The keys of one table of proxy.toml: a section such as [pool], or the entries of [[users]].</summary>
internal abstract class ConfigKeyGroup(string name, string help)
{
    /// <summary>"pool", "users", "databases.servers".</summary>
    public string Name { get; } = name;

    /// <summary>What the table is for: a line for the docs.</summary>
    public string Help { get; } = help;

    public abstract IReadOnlyList<ConfigKey> Keys { get; }

    /// <summary>
    /// Every setting of <paramref name="config"/> in this table: for a section, each key with its default; for entries,
    /// each key an entry sets, by "users.NAME.key".
    /// </summary>
    public abstract IEnumerable<ConfigSetting> Settings(ProxyConfig config);
}

/// <summary>The keys of a table read into the record <typeparamref name="TOwner"/>; built as one list in <see cref="ConfigKeys"/>.</summary>
internal sealed class ConfigKeyGroup<TOwner>(
    string name,
    string help,
    Func<TOwner> blank,
    Func<ProxyConfig, IEnumerable<(string Path, TOwner Owner)>> instances,
    bool isEntry)
    : ConfigKeyGroup(name, help)
    where TOwner : class
{
    private readonly List<ConfigKey<TOwner>> _keys = [];

    public override IReadOnlyList<ConfigKey> Keys => _keys;

    /// <summary>A record with every key at its default (for entries: every key unset).</summary>
    public TOwner Blank() => blank();

    /// <summary>Reads every key of this group that <paramref name="table"/> has into a blank record.</summary>
    public TOwner Bind(ConfigTable table)
    {
        var owner = blank();
        foreach (var key in _keys)
        {
            owner = key.Bind(table, owner);
        }

        return owner;
    }

    public override IEnumerable<ConfigSetting> Settings(ProxyConfig config)
    {
        foreach (var (path, owner) in instances(config))
        {
            foreach (var key in _keys)
            {
                var value = key.Show(owner);
                if (!isEntry || value is not null)
                {
                    yield return new ConfigSetting(key, $"{path}.{key.Name}", value, isEntry ? null : key.Show(blank()));
                }
            }
        }
    }

    /// <summary>A key whose record property has a default (the record's initializer: that is where defaults live).</summary>
    public ConfigKeyGroup<TOwner> Key<T>(string key, ConfigValueKind<T> kind, Func<TOwner, T> get, Func<TOwner, T, TOwner> set, ReloadEffect reload, string help)
    {
        _keys.Add(new ConfigKey<TOwner>(
            Name, key, kind.Type, kind.Literal(get(blank())), defaultIsValue: true, reload, help,
            (table, name, owner) => kind.TryRead(table, name, out var value) ? set(owner, value) : owner,
            owner => kind.Format(get(owner))));
        return this;
    }

    /// <summary>An entry's key that is unset (null) unless written; <paramref name="fallback"/> says what applies then.</summary>
    public ConfigKeyGroup<TOwner> Override<T>(string key, ConfigValueKind<T> kind, Func<TOwner, T?> get, Func<TOwner, T, TOwner> set, string fallback, ReloadEffect reload, string help)
        where T : struct
    {
        _keys.Add(new ConfigKey<TOwner>(
            Name, key, kind.Type, fallback, defaultIsValue: false, reload, help,
            (table, name, owner) => kind.TryRead(table, name, out var value) ? set(owner, value) : owner,
            owner => get(owner) is { } value ? kind.Format(value) : null));
        return this;
    }

    /// <summary>As <see cref="Override{T}"/>, for a string.</summary>
    public ConfigKeyGroup<TOwner> Override(string key, ConfigValueKind<string> kind, Func<TOwner, string?> get, Func<TOwner, string, TOwner> set, string? fallback, ReloadEffect reload, string help)
    {
        _keys.Add(new ConfigKey<TOwner>(
            Name, key, kind.Type, fallback, defaultIsValue: false, reload, help,
            (table, name, owner) => kind.TryRead(table, name, out var value) ? set(owner, value) : owner,
            owner => get(owner) is { } value ? kind.Format(value) : null));
        return this;
    }

    /// <summary>A key <see cref="ConfigBinder"/> reads itself (it needs more than one value to check), described here all the same.</summary>
    public ConfigKeyGroup<TOwner> Custom(string key, string type, string? defaultText, Func<TOwner, string?> show, ReloadEffect reload, string help)
    {
        _keys.Add(new ConfigKey<TOwner>(Name, key, type, defaultText, defaultIsValue: true, reload, help, bind: null, show));
        return this;
    }
}
