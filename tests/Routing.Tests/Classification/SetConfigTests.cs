using Sluice.Routing.Classification;

namespace Sluice.Routing.Tests.Classification;

/// <summary>
/// set_config(name, value, false) changes the session like SET (pg_dump's first statement empties search_path with it,
/// PgBouncer #452): the classifier reports it as a session setting, or pins when the arguments cannot be known.
/// </summary>
public sealed class SetConfigTests
{
    [Theory]
    [InlineData("SELECT pg_catalog.set_config('search_path', '', false)", "search_path", "", "''")]
    [InlineData("SELECT pg_catalog.set_config('search_path', '', false);", "search_path", "", "''")]
    [InlineData("select set_config('Search_Path', 'a, b', FALSE)", "search_path", "a, b", "'a, b'")]
    [InlineData("SELECT set_config('timezone', 'Asia/Tokyo', 'f')", "TimeZone", "Asia/Tokyo", "'Asia/Tokyo'")]
    [InlineData("SELECT set_config('DateStyle', 'SQL, DMY', 'off')", "DateStyle", "SQL, DMY", "'SQL, DMY'")]
    [InlineData("SELECT set_config('myapp.tenant', E'it\\'s', false::boolean)", "myapp.tenant", "it's", "E'it\\'s'")]
    [InlineData("SELECT set_config('work_mem'::text, '64MB'::pg_catalog.text, false)", "work_mem", "64MB", "'64MB'")]
    [InlineData("SELECT set_config('statement_timeout', $$5s$$, false)", "statement_timeout", "5s", "$$5s$$")]
    [InlineData("SELECT set_config ( 'x.y' , 'z' , false ) AS old", "x.y", "z", "'z'")]
    [InlineData("SELECT 1 FROM t WHERE set_config('x.y', 'z', false) IS NOT NULL", "x.y", "z", "'z'")]
    [InlineData("WITH s AS (SELECT set_config('search_path', 'a', false)) SELECT * FROM s", "search_path", "a", "'a'")]
    [InlineData("SELECT count(*), (SELECT set_config('search_path', 'a', false))", "search_path", "a", "'a'")]
    [InlineData("EXPLAIN ANALYZE SELECT set_config('search_path', 'a', false)", "search_path", "a", "'a'")]
    [InlineData("COPY (SELECT set_config('search_path', 'a', false)) TO STDOUT", "search_path", "a", "'a'")]
    public void Set_config_with_is_local_false_is_a_session_setting(string sql, string name, string value, string valueSql)
    {
        var result = Classifier.Classify(sql);

        Assert.Equal(new SessionSetting(SessionSettingKind.Set, name, value, valueSql), Assert.Single(result.SessionSettings));
        Assert.False(result.PinsSession);
        Assert.Equal(StatementRoute.Write, result.Route);
    }

    [Fact]
    public void Set_config_in_a_write_statement_is_reported_too()
    {
        var result = Classifier.Classify("INSERT INTO audit SELECT set_config('myapp.user', '7', false)");

        Assert.Equal(new SessionSetting(SessionSettingKind.Set, "myapp.user", "7", "'7'"), Assert.Single(result.SessionSettings));
        Assert.Equal(StatementKind.Insert, result.Statements[0].Kind);
    }

    [Fact]
    public void Set_config_to_null_resets()
    {
        var setting = Assert.Single(Classifier.Classify("SELECT set_config('search_path', NULL, false)").SessionSettings);

        Assert.Equal(new SessionSetting(SessionSettingKind.Reset, "search_path", null, null), setting);
    }

    [Fact]
    public void Several_calls_are_reported_in_order_with_the_other_statements_settings()
    {
        var result = Classifier.Classify(
            "SET a.b = 1; SELECT set_config('search_path', 'x', false), set_config('c.d', 'y', true), set_config('e.f', 'z', false)");

        Assert.Equal(
            [
                new SessionSetting(SessionSettingKind.Set, "a.b", "1", "1"),
                new SessionSetting(SessionSettingKind.Set, "search_path", "x", "'x'"),
                new SessionSetting(SessionSettingKind.Set, "e.f", "z", "'z'"),
            ],
            result.SessionSettings);
        Assert.Equal(2, result.Statements[1].SessionSettings.Count);
    }

    [Theory]
    [InlineData("SELECT set_config('search_path', 'a', true)")]
    [InlineData("SELECT set_config('search_path', 'a', TRUE::bool)")]
    [InlineData("SELECT set_config('search_path', 'a', 'on')")]
    [InlineData("SELECT set_config('myapp.user', $1, true)")]
    [InlineData("SELECT set_config($1, $2, true)")]
    [InlineData("SELECT myschema.set_config('search_path', 'a', false)")]
    [InlineData("EXPLAIN SELECT set_config('search_path', 'a', false)")]
    [InlineData("SELECT 'set_config(''search_path'', ''a'', false)'")]
    [InlineData("SELECT current_setting('search_path')")]
    public void Set_config_that_does_not_outlive_the_transaction_or_is_not_run_is_not_session_state(string sql)
    {
        var result = Classifier.Classify(sql);

        Assert.Empty(result.SessionSettings);
        Assert.False(result.PinsSession);
    }

    [Theory]
    [InlineData("SELECT set_config('myapp.user', $1, false)")]
    [InlineData("SELECT set_config($1, 'a', false)")]
    [InlineData("SELECT set_config('search_path', 'a', $1)")]
    [InlineData("SELECT set_config('search_path', current_setting('search_path') || ', x', false)")]
    [InlineData("SELECT set_config(name, setting, false) FROM saved_settings")]
    [InlineData("SELECT set_config('search_path', 'a', 'maybe')")]
    [InlineData("SELECT set_config('search_path', 'a')")]
    [InlineData("SELECT set_config(setting_name => 'search_path', new_value => 'a', is_local => false)")]
    [InlineData("SELECT pg_catalog.set_config('search_path', 'a' || 'b', false)")]
    [InlineData("UPDATE t SET v = set_config('myapp.v', v, false)")]
    [InlineData("DECLARE c CURSOR FOR SELECT set_config('search_path', 'a', false)")]
    public void Set_config_whose_effect_cannot_be_read_pins_the_session(string sql)
    {
        var result = Classifier.Classify(sql);

        Assert.Equal(SessionPinReasons.UntrackedSetting, result.PinReasons);
        Assert.Empty(result.SessionSettings);
    }
}
