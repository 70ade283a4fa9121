using Sluice.Routing.Classification;

namespace Sluice.Routing.Tests.Classification;

public sealed class ReadWriteRouteTests
{
    public static TheoryData<string> Reads => new()
    {
        // Plain queries.
        "SELECT 1",
        "select 1",
        "SeLeCt 1",
        "SELECT 1;",
        "  \n\t SELECT 1  ;  ",
        "SELECT * FROM users",
        "SELECT id, name FROM public.users WHERE id = $1",
        "SELECT a.id FROM a JOIN b ON a.id = b.a_id LEFT JOIN c USING (id) WHERE b.x > 1 ORDER BY 1 LIMIT 10 OFFSET 5",
        "SELECT DISTINCT ON (a) a, b FROM t ORDER BY a, b DESC",
        "SELECT count(*) FROM t GROUP BY a HAVING count(*) > 1",
        "SELECT * FROM t WHERE id IN (SELECT id FROM u WHERE u.flag)",
        "SELECT * FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.t_id = t.id)",
        "SELECT * FROM t WHERE NOT EXISTS(SELECT 1 FROM u)",
        "SELECT * FROM t WHERE x = ANY($1)",
        "SELECT * FROM t WHERE x = ANY (ARRAY[1, 2, 3])",
        "SELECT * FROM t WHERE x <> ALL (SELECT y FROM u)",
        "SELECT ARRAY(SELECT id FROM t)",
        "SELECT ROW(1, 2) = ROW(1, 2)",
        "SELECT (1, 2)",
        "SELECT ((((1))))",
        "SELECT 1 UNION SELECT 2 INTERSECT SELECT 3 EXCEPT SELECT 4",
        "(SELECT 1) UNION ALL (SELECT 2)",
        "((SELECT 1))",
        "SELECT * FROM t FETCH FIRST 10 ROWS ONLY",
        "SELECT * FROM t TABLESAMPLE SYSTEM (10)",
        "SELECT * FROM t TABLESAMPLE BERNOULLI (50) REPEATABLE (42)",
        "SELECT * FROM ONLY t",
        "SELECT * FROM t1, LATERAL (SELECT * FROM t2 WHERE t2.id = t1.id) s",
        "SELECT * FROM t WHERE a IS DISTINCT FROM b",
        "SELECT * FROM t WHERE a IS NOT DISTINCT FROM b",
        "SELECT * FROM t WHERE a BETWEEN SYMMETRIC 1 AND 2",
        "SELECT CASE WHEN a > 1 THEN 'x' ELSE 'y' END FROM t",
        "SELECT a FROM t WINDOW w AS (PARTITION BY b ORDER BY c)",
        "SELECT 1 WHERE (1, 2) OVERLAPS (3, 4)",
        "SELECT a OPERATOR(pg_catalog.+) b FROM t",
        "SELECT $1::int, $2::text",
        "VALUES (1, 'a'), (2, 'b')",
        "values (1)",
        "VALUES (1) ORDER BY 1",
        "TABLE users",
        "table public.users",
        "SHOW search_path",
        "SHOW ALL",
        "show transaction_isolation",
        // Comments and strings that look like writes.
        "SELECT /* FOR UPDATE */ 1",
        "SELECT 1 -- FOR UPDATE",
        "SELECT 1 /* INSERT INTO t VALUES (1) */",
        "/* DELETE FROM t */ SELECT 1",
        "-- UPDATE t SET a = 1\nSELECT 1",
        "SELECT /* nested /* INSERT */ still comment; DELETE */ 1",
        "SELECT 'FOR UPDATE'",
        "SELECT 'INSERT INTO t VALUES (1); DELETE FROM t'",
        "SELECT 'it''s; DELETE FROM t'",
        "SELECT E'it\\'s; DELETE FROM t'",
        "SELECT e'\\\\'",
        "SELECT U&'d\\0061t\\+000061; DELETE'",
        "SELECT N'national; DROP TABLE t'",
        "SELECT B'1010', X'1F'",
        "SELECT $$ INSERT INTO t VALUES (1); $$",
        "SELECT $tag$ it's $$ nested; DELETE FROM t $tag$",
        "SELECT $a$x$a$ || $b$y$b$",
        "SELECT \"insert\" FROM \"update\"",
        "SELECT * FROM \"delete\" WHERE \"for\" = 1",
        "SELECT \"FOR\" \"UPDATE\" FROM t",
        "SELECT \"nextval\" FROM t",
        "SELECT t.\"update\" FROM t",
        "SELECT update_count, insert_time, deleted FROM audit",
        "SELECT 1 AS \"SELECT INTO x\"",
        // Type casts and type modifiers.
        "SELECT '1'::int",
        "SELECT '1.5'::numeric(10, 2)",
        "SELECT 'x'::varchar(10)",
        "SELECT 'x'::character varying(10)",
        "SELECT now()::timestamp(3) with time zone",
        "SELECT 1::double precision",
        "SELECT '1 day'::interval day to second(3)",
        "SELECT x::pg_catalog.int4 FROM t",
        "SELECT 'POINT(1 2)'::geometry(Point, 4326)",
        "SELECT CAST(x AS varchar(10)) FROM t",
        "SELECT CAST(x AS character varying(10)) FROM t",
        "SELECT CAST(x AS public.geometry(Point, 4326)) FROM t",
        "SELECT CAST(1 AS bit(3))",
        "SELECT varchar(10) '5'",
        "SELECT timestamp '2020-01-01', date '2020-01-01', interval '1 day'",
        "SELECT '{1,2}'::int[]",
        "SELECT x::text COLLATE \"C\" FROM t",
        "SELECT ts AT TIME ZONE 'UTC' FROM t",
        // Alias and CTE column lists are not function calls.
        "SELECT * FROM (VALUES (1, 2)) v(a, b)",
        "SELECT * FROM (VALUES (1, 2)) AS v(a, b)",
        "SELECT * FROM generate_series(1, 10) g(i)",
        "SELECT * FROM generate_series(1, 10) AS g(i)",
        "SELECT * FROM unnest(ARRAY[1, 2]) WITH ORDINALITY AS u(x, n)",
        "SELECT * FROM unnest(ARRAY[1, 2]) WITH ORDINALITY u(x, n)",
        "SELECT * FROM (SELECT 1, 2) s(a, b)",
        "SELECT * FROM t x(a, b)",
        "SELECT * FROM public.t AS x(a, b) JOIN generate_series(1, 2) g(n) ON true",
        "SELECT * FROM ROWS FROM (generate_series(1, 2), unnest(ARRAY[1])) AS r(a, b)",
        "SELECT * FROM jsonb_to_record('{\"a\":1}') AS r(a int)",
        "SELECT * FROM json_to_recordset('[{\"a\":1}]') AS r(a int, b text)",
        // WITH.
        "WITH x AS (SELECT 1) SELECT * FROM x",
        "WITH x(a) AS (SELECT 1) SELECT a FROM x",
        "WITH x (a, b) AS (SELECT 1, 2), y AS (SELECT * FROM x) SELECT * FROM y",
        "WITH RECURSIVE t(n) AS (VALUES (1) UNION ALL SELECT n + 1 FROM t WHERE n < 100) SELECT sum(n) FROM t",
        "WITH x AS MATERIALIZED (SELECT 1) SELECT * FROM x",
        "WITH x AS NOT MATERIALIZED (SELECT 1) SELECT * FROM x",
        "WITH x(a) AS MATERIALIZED (SELECT 1) SELECT * FROM x",
        "WITH a AS (WITH b AS (SELECT 1) SELECT * FROM b) SELECT * FROM a",
        "WITH RECURSIVE t(id, parent) AS (SELECT id, parent FROM n UNION ALL SELECT n.id, n.parent FROM n JOIN t ON n.parent = t.id) SEARCH DEPTH FIRST BY id SET ord SELECT * FROM t ORDER BY ord",
        "WITH RECURSIVE t(id) AS (SELECT 1 UNION ALL SELECT id + 1 FROM t) CYCLE id SET is_cycle USING path SELECT * FROM t",
        "WITH x AS (SELECT 1) TABLE x",
        "WITH x AS (SELECT 1) VALUES (2)",
        // Aggregates and windows.
        "SELECT count(*) FILTER (WHERE x > 1) FROM t",
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x) FROM t",
        "SELECT row_number() OVER (PARTITION BY a ORDER BY b) FROM t",
        "SELECT sum(x) OVER w FROM t WINDOW w AS (ORDER BY y ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)",
        "SELECT a, b, sum(c) FROM t GROUP BY GROUPING SETS ((a), (b), ())",
        "SELECT a, sum(c) FROM t GROUP BY ROLLUP (a, b)",
        "SELECT a, sum(c) FROM t GROUP BY CUBE (a, b)",
        "SELECT a, GROUPING(a, b) FROM t GROUP BY ROLLUP(a, b)",
        "SELECT a FROM t GROUP BY (a)",
        "SELECT a FROM t ORDER BY (a)",
        "SELECT array_agg(x ORDER BY y) FROM t",
        "SELECT string_agg(DISTINCT x, ',') FROM t",
        // EXPLAIN without ANALYZE never runs the statement.
        "EXPLAIN SELECT * FROM t",
        "EXPLAIN VERBOSE SELECT 1",
        "EXPLAIN (FORMAT JSON) SELECT 1",
        "EXPLAIN (COSTS OFF, FORMAT TEXT) SELECT 1",
        "EXPLAIN INSERT INTO t VALUES (1)",
        "EXPLAIN UPDATE t SET a = 1",
        "EXPLAIN DELETE FROM t",
        "EXPLAIN SELECT nextval('s')",
        "EXPLAIN (ANALYZE false) DELETE FROM t",
        "EXPLAIN (ANALYZE off, BUFFERS) UPDATE t SET a = 1",
        "EXPLAIN (ANALYZE 0) DELETE FROM t",
        "EXPLAIN ANALYZE SELECT * FROM t",
        "EXPLAIN (ANALYZE, BUFFERS) SELECT 1",
        "EXPLAIN (ANALYZE true) SELECT 1",
        "explain analyse select 1",
        // COPY TO STDOUT.
        "COPY t TO STDOUT",
        "COPY public.t (a, b) TO STDOUT WITH (FORMAT csv, HEADER)",
        "COPY (SELECT * FROM t WHERE a > 1) TO STDOUT",
        "copy (values (1)) to stdout",
        // Cursors on reads.
        "DECLARE c CURSOR FOR SELECT * FROM t",
        "DECLARE c BINARY INSENSITIVE NO SCROLL CURSOR WITHOUT HOLD FOR SELECT 1",
        "DECLARE c SCROLL CURSOR WITH HOLD FOR SELECT 1",
        "FETCH 10 FROM c",
        "FETCH ALL IN c",
        "MOVE NEXT IN c",
        "CLOSE c",
        "CLOSE ALL",
        // Transaction control that writes nothing.
        "BEGIN READ ONLY",
        "BEGIN TRANSACTION READ ONLY",
        "BEGIN ISOLATION LEVEL SERIALIZABLE, READ ONLY, DEFERRABLE",
        "START TRANSACTION READ ONLY",
        "COMMIT",
        "END",
        "ROLLBACK",
        "ABORT",
        "SAVEPOINT s1",
        "RELEASE SAVEPOINT s1",
        "ROLLBACK TO SAVEPOINT s1",
        "SET TRANSACTION READ ONLY",
        "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ",
        // Session settings write no data.
        "SET search_path TO a, b",
        "SET LOCAL statement_timeout = 0",
        "SET TIME ZONE 'UTC'",
        "RESET ALL",
        "DISCARD ALL",
        // Empty texts.
        "",
        "   ",
        ";",
        ";;;",
        "-- just a comment",
        "/* just a comment */",
    };

    public static TheoryData<string> Writes => new()
    {
        // Data modification.
        "INSERT INTO t VALUES (1)",
        "insert into t (a, b) values (1, 2)",
        "INSERT INTO t SELECT * FROM u",
        "INSERT INTO t VALUES (1) ON CONFLICT (a) DO UPDATE SET b = excluded.b",
        "INSERT INTO t VALUES (1) RETURNING *",
        "UPDATE t SET a = 1 WHERE id = 2",
        "update t set a = a + 1",
        "UPDATE t SET (a, b) = (1, 2)",
        "DELETE FROM t WHERE id = 1",
        "DELETE FROM t USING u WHERE t.id = u.id RETURNING t.*",
        "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET a = s.a WHEN NOT MATCHED THEN INSERT VALUES (s.id)",
        "TRUNCATE t",
        "TRUNCATE TABLE a, b RESTART IDENTITY CASCADE",
        "COPY t FROM STDIN",
        "COPY t (a, b) FROM STDIN WITH (FORMAT csv)",
        "COPY t FROM '/tmp/data.csv'",
        "COPY t TO '/tmp/out.csv'",
        "COPY t TO PROGRAM 'gzip > /tmp/t.gz'",
        "COPY (INSERT INTO t VALUES (1) RETURNING *) TO STDOUT",
        "COPY (SELECT nextval('s')) TO STDOUT",
        "COPY (SELECT * FROM t FOR UPDATE) TO STDOUT",
        // Row locks, in any position.
        "SELECT 1 FOR UPDATE",
        "SELECT * FROM t FOR UPDATE",
        "SELECT * FROM t for update",
        "SELECT * FROM t FOR NO KEY UPDATE",
        "SELECT * FROM t FOR SHARE",
        "SELECT * FROM t FOR KEY SHARE",
        "SELECT * FROM t FOR UPDATE SKIP LOCKED",
        "SELECT * FROM t FOR UPDATE NOWAIT",
        "SELECT * FROM t FOR UPDATE OF t",
        "SELECT * FROM t FOR SHARE OF t SKIP LOCKED",
        "SELECT * FROM t LIMIT 1 FOR UPDATE",
        "SELECT * FROM t FOR/**/UPDATE",
        "SELECT * FROM t FOR -- comment\nUPDATE",
        "SELECT * FROM (SELECT * FROM t FOR UPDATE) s",
        "SELECT * FROM t WHERE id IN (SELECT id FROM u FOR UPDATE SKIP LOCKED)",
        "SELECT * FROM t WHERE EXISTS (SELECT 1 FROM u FOR KEY SHARE)",
        "WITH x AS (SELECT * FROM t FOR UPDATE) SELECT * FROM x",
        "(SELECT * FROM t FOR UPDATE)",
        "DECLARE c CURSOR FOR SELECT * FROM t FOR UPDATE",
        // SELECT INTO creates a table.
        "SELECT * INTO new_t FROM t",
        "SELECT a, b INTO TEMP x FROM t",
        "SELECT 1 INTO UNLOGGED y",
        // Writable CTEs, at any depth.
        "WITH x AS (INSERT INTO t VALUES (1) RETURNING id) SELECT * FROM x",
        "WITH x AS (UPDATE t SET a = 1 RETURNING *) SELECT count(*) FROM x",
        "WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x",
        "WITH x AS (MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE RETURNING *) SELECT * FROM x",
        "WITH a AS (SELECT 1), b AS (DELETE FROM t RETURNING *) SELECT * FROM a, b",
        "WITH a AS (WITH b AS (INSERT INTO t VALUES (1) RETURNING *) SELECT * FROM b) SELECT * FROM a",
        "WITH a AS (SELECT * FROM (WITH b AS (UPDATE t SET x = 1 RETURNING *) SELECT * FROM b) s) SELECT 1",
        "WITH x AS MATERIALIZED (DELETE FROM t RETURNING *) SELECT 1",
        "WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x",
        "WITH x AS (SELECT 1) UPDATE t SET a = 1",
        "WITH x AS (SELECT 1) DELETE FROM t",
        "with recursive x(n) as (select 1) insert into t select n from x",
        // EXPLAIN ANALYZE runs the statement.
        "EXPLAIN ANALYZE INSERT INTO t VALUES (1)",
        "EXPLAIN ANALYZE VERBOSE UPDATE t SET a = 1",
        "EXPLAIN (ANALYZE) DELETE FROM t",
        "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) DELETE FROM t",
        "EXPLAIN (ANALYZE true) INSERT INTO t VALUES (1)",
        "EXPLAIN (ANALYZE on) INSERT INTO t VALUES (1)",
        "EXPLAIN (FORMAT JSON, ANALYZE) UPDATE t SET a = 1",
        "EXPLAIN ANALYZE SELECT nextval('s')",
        "EXPLAIN ANALYZE SELECT * FROM t FOR UPDATE",
        "EXPLAIN ANALYZE WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x",
        "EXPLAIN ANALYZE EXECUTE p(1)",
        // DDL.
        "CREATE TABLE t (id int PRIMARY KEY)",
        "CREATE INDEX CONCURRENTLY i ON t (a)",
        "CREATE TABLE t2 AS SELECT * FROM t",
        "CREATE MATERIALIZED VIEW mv AS SELECT 1",
        "CREATE OR REPLACE VIEW v AS SELECT 1",
        "CREATE SCHEMA s",
        "CREATE EXTENSION IF NOT EXISTS pgcrypto",
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$",
        "CREATE OR REPLACE FUNCTION f() RETURNS trigger AS $body$ BEGIN NEW.x := 1; RETURN NEW; END; $body$ LANGUAGE plpgsql",
        "CREATE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC INSERT INTO t VALUES (1); END",
        "ALTER TABLE t ADD COLUMN b int",
        "ALTER SYSTEM SET work_mem = '64MB'",
        "DROP TABLE t",
        "DROP INDEX IF EXISTS i",
        "GRANT SELECT ON t TO app",
        "REVOKE ALL ON t FROM app",
        "COMMENT ON TABLE t IS 'x'",
        "SECURITY LABEL ON TABLE t IS 'x'",
        "IMPORT FOREIGN SCHEMA s FROM SERVER srv INTO local_s",
        "REASSIGN OWNED BY a TO b",
        // Maintenance.
        "VACUUM",
        "VACUUM (VERBOSE, ANALYZE) t",
        "ANALYZE t",
        "ANALYSE",
        "CLUSTER t USING i",
        "REINDEX TABLE t",
        "REFRESH MATERIALIZED VIEW CONCURRENTLY mv",
        "CHECKPOINT",
        // Procedural and session commands.
        "CALL p(1)",
        "DO $$ BEGIN PERFORM 1; END $$",
        "DO LANGUAGE plpgsql $$ BEGIN END $$",
        "LOCK TABLE t IN ACCESS EXCLUSIVE MODE",
        "LOCK t",
        "LISTEN ch",
        "UNLISTEN *",
        "NOTIFY ch, 'payload'",
        "PREPARE p(int) AS SELECT $1",
        "EXECUTE p(1)",
        "DEALLOCATE p",
        "DEALLOCATE ALL",
        "LOAD 'auto_explain'",
        // Transactions that may write.
        "BEGIN",
        "begin",
        "BEGIN WORK",
        "BEGIN TRANSACTION",
        "BEGIN READ WRITE",
        "BEGIN ISOLATION LEVEL SERIALIZABLE",
        "BEGIN ISOLATION LEVEL READ COMMITTED",
        "START TRANSACTION",
        "START TRANSACTION READ WRITE",
        "START TRANSACTION ISOLATION LEVEL READ UNCOMMITTED",
        "SET TRANSACTION READ WRITE",
        "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
        "SET transaction_read_only = off",
        "PREPARE TRANSACTION 'gid'",
        "COMMIT PREPARED 'gid'",
        "ROLLBACK PREPARED 'gid'",
        // Hints force the primary.
        "/* sluice:primary */ SELECT 1",
    };

    /// <summary>Parse failures and unknown commands (PgCat #884: never route these to a replica).</summary>
    public static TheoryData<string> Unknowns => new()
    {
        "SELECT 'unterminated",
        "SELECT E'unterminated \\'",
        "SELECT \"unterminated",
        "SELECT $$ unterminated",
        "SELECT $tag$ unterminated $$",
        "SELECT 1 /* unterminated comment",
        "SELECT 1 /* nested /* only one closed */",
        "SELECT (1",
        "SELECT 1)",
        "SELECT ((1)",
        "SELECT (1; SELECT 2",
        "SELECT 1); SELECT (2",
        "SELECT { 1 }",
        "SELECT 1 \\ 2",
        "SELECT $x",
        "SELEC 1",
        "FOO BAR",
        "frobnicate the table",
        "123",
        "'just a string'",
        "(INSERT INTO t VALUES (1))",
        "EXPLAIN",
        "EXPLAIN ANALYZE",
        "EXPLAIN FOO",
        "COPY t",
        "COPY (SELECT 1) TO",
        "COPY t WITH (FORMAT csv)",
        "DECLARE c",
        "DECLARE c CURSOR FOR",
        "START",
        "SET",
        "SET x",
        "SET x TO",
        "DISCARD",
        "DISCARD EVERYTHING",
        "RESET",
        "SELECT 1; SELEC 2",
        "SELECT 1; SELECT 'oops",
        "SELECT 1; /* trailing unterminated",
    };

    [Theory]
    [MemberData(nameof(Reads))]
    public void Reads_may_go_to_a_replica(string sql) => Classifier.AssertRoute(StatementRoute.Read, sql);

    [Theory]
    [MemberData(nameof(Writes))]
    public void Writes_go_to_the_primary(string sql) => Classifier.AssertRoute(StatementRoute.Write, sql);

    [Theory]
    [MemberData(nameof(Unknowns))]
    public void Unparseable_and_unknown_text_is_unknown(string sql) => Classifier.AssertRoute(StatementRoute.Unknown, sql);

    [Theory]
    [MemberData(nameof(Unknowns))]
    public void Unknown_requires_the_primary(string sql) => Assert.True(Classifier.Classify(sql).RequiresPrimary);

    [Theory]
    [InlineData("SELECT * FROM t", StatementKind.Select)]
    [InlineData("VALUES (1)", StatementKind.Values)]
    [InlineData("TABLE t", StatementKind.Table)]
    [InlineData("(SELECT 1)", StatementKind.Select)]
    [InlineData("WITH x AS (SELECT 1) SELECT * FROM x", StatementKind.Select)]
    [InlineData("WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x", StatementKind.Insert)]
    [InlineData("WITH x AS (SELECT 1) UPDATE t SET a = 1", StatementKind.Update)]
    [InlineData("WITH x AS (SELECT 1) DELETE FROM t", StatementKind.Delete)]
    [InlineData("SHOW x", StatementKind.Show)]
    [InlineData("EXPLAIN ANALYZE DELETE FROM t", StatementKind.Explain)]
    [InlineData("INSERT INTO t VALUES (1)", StatementKind.Insert)]
    [InlineData("MERGE INTO t USING s ON true WHEN MATCHED THEN DELETE", StatementKind.Merge)]
    [InlineData("TRUNCATE t", StatementKind.Truncate)]
    [InlineData("COPY t TO STDOUT", StatementKind.Copy)]
    [InlineData("COPY (SELECT 1) TO STDOUT", StatementKind.Copy)]
    [InlineData("CREATE TABLE t (a int)", StatementKind.Ddl)]
    [InlineData("GRANT SELECT ON t TO u", StatementKind.Ddl)]
    [InlineData("VACUUM t", StatementKind.Maintenance)]
    [InlineData("CALL p()", StatementKind.Call)]
    [InlineData("DO $$ $$", StatementKind.Do)]
    [InlineData("LOCK t", StatementKind.Lock)]
    [InlineData("LISTEN c", StatementKind.Listen)]
    [InlineData("UNLISTEN c", StatementKind.Unlisten)]
    [InlineData("NOTIFY c", StatementKind.Notify)]
    [InlineData("PREPARE p AS SELECT 1", StatementKind.Prepare)]
    [InlineData("EXECUTE p", StatementKind.Execute)]
    [InlineData("DEALLOCATE p", StatementKind.Deallocate)]
    [InlineData("DECLARE c CURSOR FOR SELECT 1", StatementKind.Declare)]
    [InlineData("FETCH c", StatementKind.Fetch)]
    [InlineData("MOVE c", StatementKind.Move)]
    [InlineData("CLOSE c", StatementKind.Close)]
    [InlineData("LOAD 'x'", StatementKind.Load)]
    [InlineData("SET a = 1", StatementKind.Set)]
    [InlineData("RESET a", StatementKind.Reset)]
    [InlineData("DISCARD ALL", StatementKind.Discard)]
    [InlineData("SELEC 1", StatementKind.Unknown)]
    public void Statement_kinds_are_reported(string sql, StatementKind kind) => Assert.Equal(kind, Classifier.Single(sql).Kind);

    [Theory]
    [InlineData("DEALLOCATE ALL", true)]
    [InlineData("deallocate prepare all", true)]
    [InlineData("DEALLOCATE p", false)]
    [InlineData("DEALLOCATE PREPARE p", false)]
    [InlineData("DEALLOCATE \"all\"", false)]
    [InlineData("DEALLOCATE allx", false)]
    public void Deallocate_all_is_told_from_deallocate_of_one_statement(string sql, bool all)
    {
        var statement = Classifier.Single(sql);
        Assert.Equal(StatementKind.Deallocate, statement.Kind);
        Assert.Equal(all, statement.DeallocatesAll);
    }

    [Theory]
    [InlineData("DEALLOCATE _pg3_0", "_pg3_0")]
    [InlineData("deallocate prepare S_1", "s_1")]
    [InlineData("DEALLOCATE \"S_1\"", "S_1")]
    [InlineData("DEALLOCATE PREPARE \"a \"\"b\"\"\"", "a \"b\"")]
    [InlineData("DEALLOCATE prepare", "prepare")]
    [InlineData("DEALLOCATE \"all\"", "all")]
    [InlineData("/* c */ DEALLOCATE p -- trailing", "p")]
    [InlineData("DEALLOCATE ALL", null)]
    [InlineData("DEALLOCATE PREPARE ALL", null)]
    [InlineData("DEALLOCATE", null)]
    [InlineData("DEALLOCATE p q", null)]
    [InlineData("DEALLOCATE 'p'", null)]
    public void Deallocate_names_the_statement_it_drops_folded_like_an_identifier(string sql, string? name)
    {
        var statement = Classifier.Single(sql);
        Assert.Equal(StatementKind.Deallocate, statement.Kind);
        Assert.Equal(name, statement.DeallocatedName);
    }

    [Fact]
    public void Each_deallocate_of_a_multi_statement_text_names_its_own_statement()
    {
        var result = Classifier.Classify("SELECT 1; DEALLOCATE a; DEALLOCATE PREPARE \"B\"; DEALLOCATE ALL");
        Assert.Equal([null, "a", "B", null], result.Statements.Select(s => s.DeallocatedName));
        Assert.Null(Classifier.Single("SELECT 'DEALLOCATE x'").DeallocatedName);
    }

    [Theory]
    [InlineData("SELECT nextval('s')", "nextval")]
    [InlineData("SELECT * FROM t FOR UPDATE", "FOR UPDATE")]
    [InlineData("WITH x AS (DELETE FROM t RETURNING *) SELECT 1", "DELETE")]
    [InlineData("SELECT * INTO x FROM t", "SELECT INTO")]
    [InlineData("SELECT 'oops", "unterminated quoted string")]
    [InlineData("SELECT (1", "unbalanced parentheses")]
    [InlineData("SELEC 1", "SELEC")]
    public void A_reason_explains_why_a_text_is_not_a_read(string sql, string expected)
    {
        var reason = Classifier.Classify(sql).Reason;
        Assert.NotNull(reason);
        Assert.Contains(expected, reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_read_has_no_reason() => Assert.Null(Classifier.Classify("SELECT 1").Reason);

    [Fact]
    public void The_empty_text_is_an_empty_read()
    {
        var result = Classifier.Classify("  -- nothing\n ; ");
        Assert.True(result.IsEmpty);
        Assert.Equal(StatementRoute.Read, result.Route);
        Assert.False(result.RequiresPrimary);
    }

    [Fact]
    public void Standard_conforming_strings_off_makes_backslash_escape_quotes()
    {
        const string Sql = "SELECT 'a\\'; DELETE FROM t; --'";
        var standard = new SqlClassifier().ClassifyUncached(Sql);
        var legacy = new SqlClassifier(new SqlClassifierOptions { StandardConformingStrings = false }).ClassifyUncached(Sql);

        Assert.Equal(StatementRoute.Write, standard.Route);
        Assert.Equal(2, standard.Statements.Count);
        Assert.Equal(StatementRoute.Read, legacy.Route);
        Assert.Single(legacy.Statements);
    }
}
