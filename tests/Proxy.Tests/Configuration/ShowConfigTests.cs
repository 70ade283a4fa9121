using Sluice.Proxy.Admin;
using Sluice.Proxy.Configuration;
using Sluice.Proxy.Configuration.Keys;

namespace Sluice.Proxy.Tests.Configuration;

/// <summary>SHOW CONFIG, made from the key table: every section key, the keys each entry sets, never a password.</summary>
public sealed class ShowConfigTests
{
    private static Dictionary<string, object?[]> Rows(string toml) =>
        ConfigView.Rows(ConfigLoader.Parse(toml, "show.toml")).ToDictionary(row => (string)row[0]!);

    private const string Config = """
        [pool]
        size = 7
        mode = "session"

        [routing]
        read_consistency = "lag_budget"

        [[users]]
        name = "app"
        password = "plain-secret"
        pool_size = 3
        server_password = "server-secret"

        [[databases]]
        name = "shop"
        servers = [{ host = "127.0.0.1", port = 5432, role = "primary" }, { host = "127.0.0.1", port = 5433, role = "replica" }]
        """;

    [Fact]
    public void Every_section_key_is_listed_with_its_value_default_and_what_a_reload_does()
    {
        var rows = Rows(Config);

        var sectionKeys = new ConfigKeyGroup[] { ConfigKeys.Server, ConfigKeys.Tls, ConfigKeys.Pool, ConfigKeys.Limits, ConfigKeys.Routing }
            .SelectMany(group => group.Keys).Select(key => key.Path);
        Assert.All(sectionKeys, path => Assert.Contains(path, rows.Keys));
        Assert.Equal(["pool.size", "7", "20", "yes", "running clients"], rows["pool.size"]);
        Assert.Equal(["pool.mode", "session", "transaction", "yes", "new clients"], rows["pool.mode"]);
        Assert.Equal(["server.listen", "127.0.0.1:6432", "127.0.0.1:6432", "no", "restart"], rows["server.listen"]);
        Assert.Equal(["routing.read_consistency", "lag_budget", "causal", "yes", "running clients"], rows["routing.read_consistency"]);
        Assert.Equal(["routing.max_read_wait", "5ms", "5ms", "yes", "running clients"], rows["routing.max_read_wait"]);
        Assert.Equal(["routing.failover_wait", "5s", "5s", "yes", "running clients"], rows["routing.failover_wait"]);
    }

    [Fact]
    public void Entries_list_only_the_keys_they_set_and_hide_passwords()
    {
        var rows = Rows(Config);

        Assert.Equal(
            ["users.app.auth", "users.app.password", "users.app.pool_size", "users.app.server_password"],
            rows.Keys.Where(key => key.StartsWith("users.", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
        Assert.Equal("****", rows["users.app.password"][1]);
        Assert.Equal("****", rows["users.app.server_password"][1]);
        Assert.Equal("3", rows["users.app.pool_size"][1]);
        Assert.Null(rows["users.app.pool_size"][2]);
        Assert.Equal("127.0.0.1:5432 primary, 127.0.0.1:5433 replica", rows["databases.shop.servers"][1]);
        Assert.DoesNotContain(rows.Values.SelectMany(row => row), cell => cell is string text && text.Contains("secret", StringComparison.Ordinal));
    }
}
