using Sluice.Protocol.Messages;
using Sluice.Proxy.Configuration;
using Sluice.Proxy.Configuration.Keys;
using static Sluice.Proxy.Admin.AdminColumns;

namespace Sluice.Proxy.Admin;

/// <summary>
/// SHOW CONFIG: every setting in force by its proxy.toml key (section.key; users.NAME.key and databases.NAME.key for
/// the entries, listing only the keys an entry sets), its default, whether RELOAD applies it and to whom — all from
/// the key table (<see cref="ConfigKeys"/>). Passwords and server passwords are never printed: a set one shows as ****.
/// </summary>
internal static class ConfigView
{
    public static readonly ColumnDescription[] Columns = [Text("key"), Text("value"), Text("default"), Text("changeable"), Text("reload")];

    public static List<object?[]> Rows(ProxyConfig config) =>
    [
        .. ConfigKeys.All
            .SelectMany(group => group.Settings(config))
            .Select(setting => new object?[]
            {
                setting.Path, setting.Value, setting.Default,
                setting.Key.Reload == ReloadEffect.Restart ? "no" : "yes", setting.Key.Reload.Describe(),
            }),
    ];
}
