using Sluice.Routing.Classification;

namespace Sluice.Routing.Tests.Classification;

public sealed class SessionPinningTests
{
    [Theory]
    [InlineData("LISTEN ch", SessionPinReasons.Listen)]
    [InlineData("listen \"Channel\"", SessionPinReasons.Listen)]
    [InlineData("SELECT pg_advisory_lock(1)", SessionPinReasons.AdvisoryLock)]
    [InlineData("SELECT pg_advisory_lock_shared(1, 2)", SessionPinReasons.AdvisoryLock)]
    [InlineData("SELECT pg_try_advisory_lock(hashtext('job'))", SessionPinReasons.AdvisoryLock)]
    [InlineData("SELECT pg_try_advisory_lock_shared(1)", SessionPinReasons.AdvisoryLock)]
    [InlineData("SELECT pg_catalog.pg_advisory_lock(1)", SessionPinReasons.AdvisoryLock)]
    [InlineData("SELECT id FROM jobs WHERE pg_try_advisory_lock(id) LIMIT 1", SessionPinReasons.AdvisoryLock)]
    [InlineData("WITH x AS (SELECT pg_advisory_lock(1)) SELECT * FROM x", SessionPinReasons.AdvisoryLock)]
    [InlineData("UPDATE jobs SET owner = 1 WHERE pg_try_advisory_lock(id)", SessionPinReasons.AdvisoryLock)]
    [InlineData("INSERT INTO t SELECT pg_advisory_lock(1)", SessionPinReasons.AdvisoryLock)]
    [InlineData("EXPLAIN ANALYZE SELECT pg_advisory_lock(1)", SessionPinReasons.AdvisoryLock)]
    [InlineData("DECLARE c CURSOR WITH HOLD FOR SELECT * FROM t", SessionPinReasons.HoldCursor)]
    [InlineData("DECLARE c NO SCROLL CURSOR WITH HOLD FOR SELECT 1", SessionPinReasons.HoldCursor)]
    [InlineData("PREPARE p AS SELECT 1", SessionPinReasons.PreparedStatement)]
    [InlineData("PREPARE p(int, text) AS INSERT INTO t VALUES ($1, $2)", SessionPinReasons.PreparedStatement)]
    [InlineData("CREATE TEMP TABLE t (a int)", SessionPinReasons.TemporaryTable)]
    [InlineData("CREATE TEMPORARY TABLE t (a int)", SessionPinReasons.TemporaryTable)]
    [InlineData("create temp table if not exists t (a int)", SessionPinReasons.TemporaryTable)]
    [InlineData("CREATE GLOBAL TEMPORARY TABLE t (a int)", SessionPinReasons.TemporaryTable)]
    [InlineData("CREATE LOCAL TEMP TABLE t (a int)", SessionPinReasons.TemporaryTable)]
    [InlineData("CREATE TEMP TABLE t (a int) ON COMMIT DELETE ROWS", SessionPinReasons.TemporaryTable)]
    [InlineData("CREATE TEMP TABLE t (a int) ON COMMIT PRESERVE ROWS", SessionPinReasons.TemporaryTable)]
    [InlineData("CREATE TEMP TABLE t AS SELECT * FROM u", SessionPinReasons.TemporaryTable)]
    [InlineData("CREATE TEMP VIEW v AS SELECT 1", SessionPinReasons.TemporaryTable)]
    [InlineData("CREATE OR REPLACE TEMP VIEW v AS SELECT 1", SessionPinReasons.TemporaryTable)]
    [InlineData("CREATE TEMP SEQUENCE s", SessionPinReasons.TemporaryTable)]
    [InlineData("CREATE TABLE pg_temp.t (a int)", SessionPinReasons.TemporaryTable)]
    [InlineData("CREATE TABLE IF NOT EXISTS pg_temp.t (a int)", SessionPinReasons.TemporaryTable)]
    [InlineData("SELECT * INTO TEMP t FROM u", SessionPinReasons.TemporaryTable)]
    [InlineData("SELECT * INTO TEMPORARY TABLE t FROM u", SessionPinReasons.TemporaryTable)]
    [InlineData("SELECT * INTO LOCAL TEMP t FROM u", SessionPinReasons.TemporaryTable)]
    [InlineData("SELECT 1 AS a INTO pg_temp.t", SessionPinReasons.TemporaryTable)]
    [InlineData("LISTEN a; SELECT pg_advisory_lock(1)", SessionPinReasons.Listen | SessionPinReasons.AdvisoryLock)]
    public void Statements_that_create_session_state_pin_the_session(string sql, SessionPinReasons reasons)
    {
        var result = Classifier.Classify(sql);

        Assert.True(result.PinsSession);
        Assert.Equal(reasons, result.PinReasons);
    }

    [Fact]
    public void A_hold_cursor_over_a_read_pins_but_may_stay_on_a_replica()
    {
        var result = Classifier.Classify("DECLARE c CURSOR WITH HOLD FOR SELECT * FROM t");

        Assert.True(result.PinsSession);
        Assert.Equal(StatementRoute.Read, result.Route);
    }

    [Theory]
    [InlineData("LISTEN ch")]
    [InlineData("SELECT pg_advisory_lock(1)")]
    [InlineData("PREPARE p AS SELECT 1")]
    [InlineData("CREATE TEMP TABLE t (a int)")]
    [InlineData("SELECT * INTO TEMP t FROM u")]
    public void Other_pinning_statements_go_to_the_primary(string sql) => Assert.True(Classifier.Classify(sql).RequiresPrimary);

    [Theory]
    [InlineData("SELECT 1")]
    [InlineData("UNLISTEN ch")]
    [InlineData("UNLISTEN *")]
    [InlineData("NOTIFY ch")]
    [InlineData("SELECT pg_notify('ch', 'x')")]
    [InlineData("SELECT pg_advisory_xact_lock(1)")]
    [InlineData("SELECT pg_try_advisory_xact_lock(1)")]
    [InlineData("SELECT pg_advisory_xact_lock_shared(1)")]
    [InlineData("SELECT pg_advisory_unlock(1)")]
    [InlineData("SELECT pg_advisory_unlock_all()")]
    [InlineData("EXPLAIN SELECT pg_advisory_lock(1)")]
    [InlineData("SELECT 'pg_advisory_lock(1)'")]
    [InlineData("SELECT \"pg_advisory_lock\" FROM t")]
    [InlineData("DECLARE c CURSOR FOR SELECT 1")]
    [InlineData("DECLARE c CURSOR WITHOUT HOLD FOR SELECT 1")]
    [InlineData("EXECUTE p")]
    [InlineData("DEALLOCATE p")]
    [InlineData("PREPARE TRANSACTION 'gid'")]
    [InlineData("CREATE TABLE t (a int)")]
    [InlineData("CREATE UNLOGGED TABLE t (a int)")]
    [InlineData("CREATE TEMP TABLE t (a int) ON COMMIT DROP")]
    [InlineData("CREATE TEMPORARY TABLE t ON COMMIT DROP AS SELECT 1")]
    [InlineData("CREATE TABLE temp (a int)")]
    [InlineData("CREATE INDEX ON pg_temp.t (a)")]
    [InlineData("INSERT INTO temp VALUES (1)")]
    [InlineData("SELECT * INTO t FROM u")]
    [InlineData("SET search_path = a")]
    [InlineData("DISCARD ALL")]
    public void Other_statements_do_not_pin(string sql)
    {
        var result = Classifier.Classify(sql);

        Assert.False(result.PinsSession, $"{sql} pinned: {result.PinReasons}");
        Assert.Equal(SessionPinReasons.None, result.PinReasons);
    }

    [Fact]
    public void Pins_are_reported_per_statement()
    {
        var result = Classifier.Classify("SELECT 1; LISTEN ch; SELECT 2");

        Assert.Equal(SessionPinReasons.None, result.Statements[0].PinReasons);
        Assert.Equal(SessionPinReasons.Listen, result.Statements[1].PinReasons);
        Assert.Equal(SessionPinReasons.None, result.Statements[2].PinReasons);
    }
}
