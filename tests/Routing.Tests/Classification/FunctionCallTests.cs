using Sluice.Routing.Classification;

namespace Sluice.Routing.Tests.Classification;

public sealed class FunctionCallTests
{
    public static TheoryData<string> ReadSafeCalls => new()
    {
        "SELECT now()",
        "SELECT NOW()",
        "SELECT pg_catalog.now()",
        "SELECT pg_catalog.\"now\"()",
        "SELECT \"count\"(*) FROM t",
        "SELECT count(*), sum(a), avg(a), min(a), max(a) FROM t",
        "SELECT coalesce(a, b), nullif(a, 0), greatest(a, b), least(a, b) FROM t",
        "SELECT lower(name), upper(name), length(name), concat(a, b), concat_ws(',', a, b) FROM t",
        "SELECT left(name, 3), right(name, 2) FROM t",
        "SELECT substring(name, 1, 3) FROM t",
        "SELECT substring(name FROM 1 FOR 3) FROM t",
        "SELECT extract(year FROM created_at) FROM t",
        "SELECT EXTRACT(EPOCH FROM now())",
        "SELECT trim(BOTH ' ' FROM name) FROM t",
        "SELECT position('a' IN name) FROM t",
        "SELECT overlay(name PLACING 'x' FROM 2 FOR 1) FROM t",
        "SELECT date_trunc('day', created_at), date_part('hour', created_at) FROM t",
        "SELECT abs(-1), round(1.5), ceil(1.2), floor(1.8), sqrt(4), power(2, 3), mod(5, 2)",
        "SELECT random(), gen_random_uuid()",
        "SELECT pg_sleep(0.1)",
        "SELECT pg_is_in_recovery()",
        "SELECT current_setting('search_path')",
        "SELECT version()",
        "SELECT current_database(), current_schema(), current_user",
        "SELECT * FROM generate_series(1, 10)",
        "SELECT generate_series(1, 3)",
        "SELECT array_agg(a), string_agg(b, ',') FROM t",
        "SELECT jsonb_build_object('a', 1), jsonb_agg(t) FROM t",
        "SELECT data->>'name', jsonb_extract_path_text(data, 'a') FROM t",
        "SELECT jsonb_set(data, '{a}', '1') FROM t",
        "SELECT * FROM jsonb_array_elements('[1,2]')",
        "SELECT jsonb_path_query(data, '$.a') FROM t",
        "SELECT to_char(now(), 'YYYY'), to_timestamp(0), age(now())",
        "SELECT current_timestamp(3), localtimestamp(2)",
        "SELECT format('%s', 1), md5('x'), encode('x', 'hex')",
        "SELECT regexp_replace(name, 'a', 'b') FROM t",
        "SELECT row_number() OVER (), rank() OVER (ORDER BY a) FROM t",
        "SELECT lag(a) OVER (ORDER BY b), lead(a, 2) OVER w FROM t WINDOW w AS (ORDER BY b)",
        "SELECT unnest(ARRAY[1, 2])",
        "SELECT array_length(ARRAY[1], 1), cardinality(ARRAY[1])",
        "SELECT to_tsvector('english', body) @@ to_tsquery('cat') FROM docs",
        "SELECT int4(1.5), text(1), date(now())",
        "SELECT pg_typeof(1), format_type(23, NULL)",
        "SELECT has_table_privilege('t', 'SELECT')",
        "SELECT pg_size_pretty(pg_total_relation_size('t'))",
        "SELECT pg_last_wal_replay_lsn(), pg_last_xact_replay_timestamp()",
        "SELECT pg_backend_pid()",
        "SELECT json_object('a': 1)",
        "SELECT * FROM json_to_record('{\"a\":1}') AS (a int)",
        "SELECT * FROM (WITH x(a) AS (SELECT 1) SELECT * FROM x) s",
        "SELECT * FROM json_table('[1]', '$[*]' COLUMNS (x int PATH '$'))",
        "SELECT xmlelement(name foo, xmlattributes('x' AS bar))",
        "SELECT f.x FROM (SELECT lower(a) AS x FROM t) f",
        "SELECT * FROM t WHERE lower(name) = lower($1) ORDER BY length(name)",
        "SELECT coalesce((SELECT max(a) FROM t), 0)",
        "SELECT count(*) FROM t WHERE created_at > now() - interval '1 day'",
    };

    public static TheoryData<string> PrimaryCalls => new()
    {
        // PgCat #489: sequence functions are writes.
        "SELECT nextval('s')",
        "select NEXTVAL('s')",
        "SELECT pg_catalog.nextval('s')",
        "SELECT \"nextval\"('s')",
        "SELECT currval('s')",
        "SELECT lastval()",
        "SELECT setval('s', 1)",
        "SELECT id, nextval('s') FROM t",
        "SELECT * FROM t WHERE id = nextval('s')",
        "SELECT (SELECT nextval('s'))",
        "SELECT coalesce(nextval('s'), 0)",
        "WITH x AS (SELECT nextval('s')) SELECT * FROM x",
        "VALUES (nextval('s'))",
        "SELECT * FROM t ORDER BY nextval('s')",
        // Locks and notifications.
        "SELECT pg_advisory_lock(1)",
        "SELECT pg_advisory_xact_lock(1)",
        "SELECT pg_try_advisory_lock(1)",
        "SELECT pg_try_advisory_xact_lock_shared(1)",
        "SELECT pg_advisory_unlock(1)",
        "SELECT pg_advisory_unlock_all()",
        "SELECT pg_notify('ch', 'x')",
        // Session state and transaction ids.
        "SELECT set_config('search_path', 'x', false)",
        "SELECT txid_current()",
        "SELECT pg_current_xact_id()",
        "SELECT setseed(0.5)",
        "SELECT pg_current_wal_lsn()",
        // Large objects and remote calls.
        "SELECT lo_create(0)",
        "SELECT lo_import('/tmp/x')",
        "SELECT dblink('conn', 'SELECT 1')",
        "SELECT dblink_exec('conn', 'DELETE FROM t')",
        "SELECT pg_terminate_backend(123)",
        "SELECT pg_create_logical_replication_slot('s', 'pgoutput')",
        // Unknown (user) functions.
        "SELECT my_function()",
        "SELECT do_something(1, 2)",
        "SELECT * FROM my_srf()",
        "SELECT * FROM t, my_srf(t.id)",
        "SELECT * FROM t JOIN my_srf() ON true",
        "SELECT * FROM t CROSS JOIN LATERAL my_srf(t.id)",
        "SELECT * FROM t LEFT JOIN LATERAL my_srf(t.id) s ON true",
        "SELECT * FROM my_srf() AS s(a) JOIN other_srf() o ON true",
        "SELECT * FROM ROWS FROM (my_srf())",
        "SELECT * FROM my_srf() AS (a int, b text)",
        "SELECT * FROM t, my_srf(t.id) AS (a int)",
        "SELECT * FROM (WITH x(a) AS (SELECT 1) SELECT * FROM x, my_srf() AS (b int)) s",
        "SELECT * FROM t WHERE a = my_function(b)",
        "SELECT * FROM t WHERE a IS DISTINCT FROM my_function(b)",
        "SELECT * FROM t GROUP BY my_function(a)",
        "SELECT * FROM t ORDER BY my_function(a)",
        "SELECT DISTINCT ON (a) my_function(b) FROM t",
        "SELECT count(*) FILTER (WHERE my_function(a)) FROM t",
        "SELECT sum(a) OVER (ORDER BY my_function(b)) FROM t",
        "SELECT CAST(my_function() AS int)",
        "SELECT my_function()::int",
        "SELECT '1'::int + my_function()",
        "SELECT 1::numeric(10, 2), my_function()",
        "SELECT x::double precision, my_function() FROM t",
        "SELECT ARRAY[my_function()]",
        "SELECT EXISTS (SELECT my_function())",
        "SELECT * FROM t WHERE a IN (my_function())",
        "SELECT public.now()",
        "SELECT myschema.lower('x')",
        "SELECT \"MyFunction\"()",
        "SELECT \"Now\"()",
        "SELECT extract(year FROM my_function())",
        "SELECT substring(my_function() FROM 1)",
        "SELECT * FROM t WHERE a = ANY (my_function())",
        "SELECT cube(1, 2)",
        "SELECT a FROM t GROUP BY a HAVING my_function(a)",
        // Unreserved keywords can name user functions too.
        "SELECT filter(1)",
        "SELECT over(1)",
        "SELECT path(1)",
        "SELECT search(1)",
        "SELECT materialized(1)",
        "SELECT columns(1)",
        "SELECT zone(1)",
    };

    [Theory]
    [MemberData(nameof(ReadSafeCalls))]
    public void Known_read_only_functions_are_reads(string sql) => Classifier.AssertRoute(StatementRoute.Read, sql);

    [Theory]
    [MemberData(nameof(PrimaryCalls))]
    public void Volatile_and_unknown_functions_go_to_the_primary(string sql) => Classifier.AssertRoute(StatementRoute.Write, sql);

    [Theory]
    [InlineData(FunctionVolatility.Immutable, StatementRoute.Read)]
    [InlineData(FunctionVolatility.Stable, StatementRoute.Read)]
    [InlineData(FunctionVolatility.Volatile, StatementRoute.Write)]
    public void A_volatility_source_decides_for_unknown_functions(FunctionVolatility volatility, StatementRoute expected)
    {
        var source = new FakeVolatilitySource { ["my_function"] = volatility };
        var classifier = new SqlClassifier(new SqlClassifierOptions { FunctionVolatility = source });

        Assert.Equal(expected, classifier.Classify("SELECT my_function(1)").Route);
    }

    [Fact]
    public void A_delegate_can_be_the_volatility_source()
    {
        var source = FunctionVolatilitySource.FromDelegate((schema, name) =>
            schema == "app" && name == "price" ? FunctionVolatility.Stable : null);
        var classifier = new SqlClassifier(new SqlClassifierOptions { FunctionVolatility = source });

        Assert.Equal(StatementRoute.Read, classifier.Classify("SELECT app.price(1)").Route);
        Assert.Equal(StatementRoute.Write, classifier.Classify("SELECT price(1)").Route);
    }

    [Fact]
    public void A_function_the_source_does_not_know_goes_to_the_primary()
    {
        var source = new FakeVolatilitySource { ["other"] = FunctionVolatility.Stable };
        var classifier = new SqlClassifier(new SqlClassifierOptions { FunctionVolatility = source });

        Assert.Equal(StatementRoute.Write, classifier.Classify("SELECT my_function()").Route);
    }

    [Fact]
    public void The_source_cannot_make_sequence_or_lock_functions_reads()
    {
        var source = new FakeVolatilitySource
        {
            ["nextval"] = FunctionVolatility.Immutable,
            ["pg_advisory_lock"] = FunctionVolatility.Immutable,
            ["lo_create"] = FunctionVolatility.Stable,
        };
        var classifier = new SqlClassifier(new SqlClassifierOptions { FunctionVolatility = source });

        Assert.Equal(StatementRoute.Write, classifier.Classify("SELECT nextval('s')").Route);
        Assert.Equal(StatementRoute.Write, classifier.Classify("SELECT pg_advisory_lock(1)").Route);
        Assert.Equal(StatementRoute.Write, classifier.Classify("SELECT lo_create(0)").Route);
    }

    [Fact]
    public void The_source_is_asked_with_the_schema_and_the_folded_name()
    {
        var source = new FakeVolatilitySource();
        var classifier = new SqlClassifier(new SqlClassifierOptions { FunctionVolatility = source });

        classifier.Classify("SELECT MySchema.My_Func(1)");
        classifier.Classify("SELECT \"Quoted\"(2)");
        classifier.Classify("SELECT plain(3)");

        Assert.Contains(("myschema", "my_func"), source.Asked);
        Assert.Contains(((string?)null, "Quoted"), source.Asked);
        Assert.Contains(((string?)null, "plain"), source.Asked);
    }

    [Fact]
    public void Built_in_functions_are_not_asked_about()
    {
        var source = new FakeVolatilitySource();
        var classifier = new SqlClassifier(new SqlClassifierOptions { FunctionVolatility = source });

        classifier.Classify("SELECT now(), count(*), lower(x) FROM t");

        Assert.Empty(source.Asked);
    }

    [Fact]
    public void Writes_do_not_ask_about_their_table_names()
    {
        var source = new FakeVolatilitySource();
        var classifier = new SqlClassifier(new SqlClassifierOptions { FunctionVolatility = source });

        classifier.Classify("WITH x AS (SELECT 1) INSERT INTO t (a, b) SELECT 1, 2");
        classifier.Classify("INSERT INTO t (a) VALUES (my_function())");

        Assert.Empty(source.Asked);
    }

    [Fact]
    public void A_throwing_source_means_primary_not_an_exception()
    {
        var classifier = new SqlClassifier(new SqlClassifierOptions { FunctionVolatility = new ThrowingSource() });

        Assert.Equal(StatementRoute.Write, classifier.Classify("SELECT my_function()").Route);
    }

    [Fact]
    public void Clearing_the_cache_picks_up_new_volatility_answers()
    {
        var source = new FakeVolatilitySource();
        var classifier = new SqlClassifier(new SqlClassifierOptions { FunctionVolatility = source });
        Assert.Equal(StatementRoute.Write, classifier.Classify("SELECT f()").Route);

        source["f"] = FunctionVolatility.Stable;
        Assert.Equal(StatementRoute.Write, classifier.Classify("SELECT f()").Route);
        classifier.ClearCache();

        Assert.Equal(StatementRoute.Read, classifier.Classify("SELECT f()").Route);
    }

    [Fact]
    public void The_reason_names_the_function()
    {
        Assert.Contains("my_function", Classifier.Classify("SELECT my_function()").Reason, StringComparison.Ordinal);
        Assert.Contains("nextval", Classifier.Classify("SELECT nextval('s')").Reason, StringComparison.Ordinal);
    }

    private sealed class FakeVolatilitySource : IFunctionVolatilitySource
    {
        private readonly Dictionary<string, FunctionVolatility> _known = [];

        public List<(string? Schema, string Name)> Asked { get; } = [];

        public FunctionVolatility this[string name]
        {
            set => _known[name] = value;
        }

        public FunctionVolatility? GetVolatility(string? schemaName, string functionName)
        {
            lock (Asked)
            {
                Asked.Add((schemaName, functionName));
            }

            return _known.TryGetValue(functionName, out var volatility) ? volatility : null;
        }
    }

    private sealed class ThrowingSource : IFunctionVolatilitySource
    {
        public FunctionVolatility? GetVolatility(string? schemaName, string functionName) => throw new InvalidOperationException("catalog unavailable");
    }
}
