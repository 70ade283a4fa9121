using Sluice.Routing.Classification;

namespace Sluice.Routing.Tests.Classification;

public sealed class SessionSettingTests
{
    [Theory]
    [InlineData("SET search_path TO a,b", "search_path", "a, b", "a,b")]
    [InlineData("SET search_path = a, b", "search_path", "a, b", "a, b")]
    [InlineData("SET search_path = \"$user\", public", "search_path", "\"$user\", public", "\"$user\", public")]
    [InlineData("SET search_path TO \"My Schema\", 'Other', PUBLIC", "search_path", "\"My Schema\", \"Other\", public", "\"My Schema\", 'Other', PUBLIC")]
    [InlineData("SET search_path TO 'a\"b'", "search_path", "\"a\"\"b\"", "'a\"b'")]
    [InlineData("SET temp_tablespaces = 'Fast', slow", "temp_tablespaces", "\"Fast\", slow", "'Fast', slow")]
    [InlineData("SET search_path TO 'app'", "search_path", "app", "'app'")]
    [InlineData("set Search_Path = MySchema", "search_path", "myschema", "MySchema")]
    [InlineData("SET SESSION search_path = x", "search_path", "x", "x")]
    [InlineData("SET TIME ZONE 'UTC'", "TimeZone", "UTC", "'UTC'")]
    [InlineData("SET TIME ZONE 'Europe/Paris';", "TimeZone", "Europe/Paris", "'Europe/Paris'")]
    [InlineData("SET TIME ZONE -8", "TimeZone", "-8", "-8")]
    [InlineData("SET timezone = 'UTC'", "TimeZone", "UTC", "'UTC'")]
    [InlineData("SET TimeZone TO 'UTC'", "TimeZone", "UTC", "'UTC'")]
    [InlineData("SET DateStyle = ISO, MDY", "DateStyle", "iso, mdy", "ISO, MDY")]
    [InlineData("SET intervalstyle = 'postgres'", "IntervalStyle", "postgres", "'postgres'")]
    [InlineData("SET statement_timeout = '5s'", "statement_timeout", "5s", "'5s'")]
    [InlineData("SET statement_timeout TO 5000", "statement_timeout", "5000", "5000")]
    [InlineData("SET extra_float_digits = -1", "extra_float_digits", "-1", "-1")]
    [InlineData("SET application_name = 'my app'", "application_name", "my app", "'my app'")]
    [InlineData("SET application_name = E'it\\'s'", "application_name", "it's", "E'it\\'s'")]
    [InlineData("SET work_mem = '64MB'", "work_mem", "64MB", "'64MB'")]
    [InlineData("SET client_min_messages TO WARNING", "client_min_messages", "warning", "WARNING")]
    [InlineData("SET jit = off", "jit", "off", "off")]
    [InlineData("SET enable_seqscan TO false", "enable_seqscan", "false", "false")]
    [InlineData("SET myapp.tenant_id = '42'", "myapp.tenant_id", "42", "'42'")]
    [InlineData("SET MyApp.User = 7", "myapp.user", "7", "7")]
    [InlineData("SET NAMES 'UTF8'", "client_encoding", "UTF8", "'UTF8'")]
    [InlineData("SET SCHEMA 'app'", "search_path", "app", "'app'")]
    [InlineData("SET ROLE admin", "role", "admin", "admin")]
    [InlineData("SET SESSION AUTHORIZATION 'bob'", "session_authorization", "bob", "'bob'")]
    [InlineData("SET XML OPTION DOCUMENT", "xmloption", "document", "DOCUMENT")]
    [InlineData("SET default_transaction_read_only = on", "default_transaction_read_only", "on", "on")]
    [InlineData("/* c */ SET /* c */ lock_timeout /* c */ = /* c */ '1s'", "lock_timeout", "1s", "'1s'")]
    public void Set_reports_the_parameter_and_value(string sql, string name, string value, string valueSql)
    {
        var result = Classifier.Classify(sql);

        var setting = Assert.Single(result.SessionSettings);
        Assert.Equal(new SessionSetting(SessionSettingKind.Set, name, value, valueSql), setting);
        Assert.Equal(StatementRoute.Read, result.Route);
        Assert.False(result.PinsSession);
    }

    [Theory]
    [InlineData("RESET search_path", "search_path")]
    [InlineData("reset Statement_Timeout;", "statement_timeout")]
    [InlineData("RESET TIME ZONE", "TimeZone")]
    [InlineData("RESET timezone", "TimeZone")]
    [InlineData("RESET ROLE", "role")]
    [InlineData("RESET SESSION AUTHORIZATION", "session_authorization")]
    [InlineData("RESET myapp.tenant_id", "myapp.tenant_id")]
    [InlineData("SET work_mem TO DEFAULT", "work_mem")]
    [InlineData("SET work_mem = default", "work_mem")]
    [InlineData("SET TIME ZONE LOCAL", "TimeZone")]
    [InlineData("SET TIME ZONE DEFAULT", "TimeZone")]
    [InlineData("SET ROLE NONE", "role")]
    [InlineData("SET SESSION AUTHORIZATION DEFAULT", "session_authorization")]
    [InlineData("SET NAMES DEFAULT", "client_encoding")]
    public void Reset_reports_the_parameter(string sql, string name)
    {
        var setting = Assert.Single(Classifier.Classify(sql).SessionSettings);
        Assert.Equal(new SessionSetting(SessionSettingKind.Reset, name, null, null), setting);
    }

    [Theory]
    [InlineData("RESET ALL", SessionSettingKind.ResetAll)]
    [InlineData("DISCARD ALL", SessionSettingKind.DiscardAll)]
    [InlineData("discard all;", SessionSettingKind.DiscardAll)]
    [InlineData("DISCARD PLANS", SessionSettingKind.DiscardPlans)]
    [InlineData("DISCARD SEQUENCES", SessionSettingKind.DiscardSequences)]
    [InlineData("DISCARD TEMP", SessionSettingKind.DiscardTemp)]
    [InlineData("DISCARD TEMPORARY", SessionSettingKind.DiscardTemp)]
    public void Reset_all_and_discard_are_reported(string sql, SessionSettingKind kind)
    {
        var result = Classifier.Classify(sql);

        Assert.Equal(new SessionSetting(kind, null, null, null), Assert.Single(result.SessionSettings));
        Assert.Equal(StatementRoute.Read, result.Route);
    }

    [Theory]
    [InlineData("SET LOCAL x = 1")]
    [InlineData("SET LOCAL search_path TO a")]
    [InlineData("SET LOCAL TIME ZONE 'UTC'")]
    [InlineData("SET CONSTRAINTS ALL DEFERRED")]
    [InlineData("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")]
    [InlineData("RESET TRANSACTION ISOLATION LEVEL")]
    [InlineData("SELECT set_config('search_path', 'a', true)")]
    [InlineData("SELECT 'SET search_path = a'")]
    [InlineData("SHOW search_path")]
    public void Transaction_scoped_settings_are_not_session_state(string sql) =>
        Assert.Empty(Classifier.Classify(sql).SessionSettings);

    [Fact]
    public void Several_settings_in_one_text_are_reported_in_order()
    {
        var result = Classifier.Classify("SET a = 1; SELECT 1; SET LOCAL b = 2; RESET c; SET d TO 'x'");

        Assert.Equal(
            [
                new SessionSetting(SessionSettingKind.Set, "a", "1", "1"),
                new SessionSetting(SessionSettingKind.Reset, "c", null, null),
                new SessionSetting(SessionSettingKind.Set, "d", "x", "'x'"),
            ],
            result.SessionSettings);
        Assert.Single(result.Statements[0].SessionSettings);
        Assert.Empty(result.Statements[1].SessionSettings);
        Assert.Equal(StatementRoute.Read, result.Route);
    }

    [Theory]
    [InlineData("SET x = ")]
    [InlineData("SET x = 1,")]
    [InlineData("SET x 1")]
    [InlineData("SET = 1")]
    [InlineData("RESET x y")]
    [InlineData("RESET ALL x")]
    [InlineData("DISCARD ALL PLANS")]
    public void Malformed_session_statements_are_unknown(string sql)
    {
        var result = Classifier.Classify(sql);

        Assert.Equal(StatementRoute.Unknown, result.Route);
        Assert.Empty(result.SessionSettings);
    }
}
