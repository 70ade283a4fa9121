using Sluice.Proxy.Clients;

namespace Sluice.Proxy.Tests.Clients;

public sealed class SessionTextTests
{
    [Fact]
    public void Libpq_options_become_settings()
    {
        var settings = SessionParameters.ParseOptions("-c search_path=a,b --statement-timeout=5s -cgeqo=off -c x=a\\ b").ToList();
        Assert.Equal(
            [new("search_path", "a,b"), new("statement_timeout", "5s"), new("geqo", "off"), new("x", "a b")],
            settings);
    }

    [Fact]
    public void Sync_sql_sets_what_differs_and_resets_what_a_previous_client_left()
    {
        var parameters = new SessionParameters();
        parameters.Initialize(
            new Dictionary<string, string> { ["application_name"] = "", ["TimeZone"] = "UTC", ["server_version"] = "15" },
            [new("application_name", "app's"), new("search_path", "s1")]);

        var sql = parameters.BuildSyncSql(
            new Dictionary<string, string> { ["application_name"] = "", ["TimeZone"] = "UTC", ["server_version"] = "15" },
            new Dictionary<string, string> { ["work_mem"] = "64MB" });

        Assert.Equal(
            "SELECT pg_catalog.set_config('application_name', 'app''s', false), pg_catalog.set_config('search_path', 's1', false);RESET \"work_mem\";",
            sql);
    }

    [Fact]
    public void Nothing_to_sync_when_the_server_matches()
    {
        var parameters = new SessionParameters();
        var server = new Dictionary<string, string> { ["application_name"] = "x" };
        parameters.Initialize(server, [new("application_name", "x")]);
        Assert.Null(parameters.BuildSyncSql(server, new Dictionary<string, string>()));
    }

    [Fact]
    public void Sessions_that_start_alike_share_one_baseline_and_a_change_stays_with_its_session()
    {
        var server = new Dictionary<string, string> { ["application_name"] = "", ["TimeZone"] = "UTC", ["server_version"] = "15" };
        var first = new SessionParameters();
        var second = new SessionParameters();
        first.Initialize(server, [new("user", "app"), new("application_name", "web"), new("options", "-c search_path=s1")]);
        second.Initialize(server, [new("user", "other"), new("application_name", "web"), new("options", "-c search_path=s1")]);
        Assert.Same(first.Values, second.Values);
        Assert.False(first.TryGet("server_version", out _));

        first.Set("TimeZone", "Europe/Paris");
        first.Set("search_path", "s2");
        Assert.Equal("Europe/Paris", first.Values["TimeZone"]);
        Assert.Equal("UTC", second.Values["TimeZone"]);
        Assert.Equal("s1", second.Values["search_path"]);

        first.Reset("search_path");
        Assert.Equal("s1", first.Values["search_path"]);
        first.Set("work_mem", "64MB");
        first.Reset("work_mem");
        Assert.False(first.TryGet("work_mem", out _));

        first.ResetAllExcept(name => name == "TimeZone");
        Assert.Equal("Europe/Paris", first.Values["TimeZone"]);
        first.ResetAll();
        Assert.Same(second.Values, first.Values);
        Assert.Equal([new("application_name", "web"), new("search_path", "s1")], first.StartupSettings);
    }
}
