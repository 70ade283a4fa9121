using Sluice.Routing.Classification;

namespace Sluice.Routing.Tests.Classification;

public sealed class TransactionControlTests
{
    [Theory]
    [InlineData("BEGIN", false)]
    [InlineData("begin;", false)]
    [InlineData("BEGIN WORK", false)]
    [InlineData("BEGIN TRANSACTION", false)]
    [InlineData("BEGIN READ WRITE", false)]
    [InlineData("BEGIN ISOLATION LEVEL READ COMMITTED", false)]
    [InlineData("BEGIN ISOLATION LEVEL READ UNCOMMITTED", false)]
    [InlineData("BEGIN ISOLATION LEVEL SERIALIZABLE", false)]
    [InlineData("START TRANSACTION", false)]
    [InlineData("START TRANSACTION ISOLATION LEVEL REPEATABLE READ", false)]
    [InlineData("BEGIN READ ONLY", true)]
    [InlineData("begin read only", true)]
    [InlineData("BEGIN WORK READ ONLY", true)]
    [InlineData("BEGIN TRANSACTION READ ONLY", true)]
    [InlineData("BEGIN READ ONLY DEFERRABLE", true)]
    [InlineData("BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY", true)]
    [InlineData("BEGIN ISOLATION LEVEL SERIALIZABLE, READ ONLY, DEFERRABLE", true)]
    [InlineData("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", true)]
    [InlineData("BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY", true)]
    [InlineData("START TRANSACTION READ ONLY", true)]
    [InlineData("START TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ ONLY", true)]
    [InlineData("/* c */ BEGIN /* c */ READ /* c */ ONLY", true)]
    public void Begin_reports_whether_the_transaction_is_read_only(string sql, bool readOnly)
    {
        var result = Classifier.Classify(sql);

        Assert.True(result.IsBegin);
        Assert.Equal(readOnly, result.BeginReadOnly);
        Assert.Equal(readOnly ? StatementRoute.Read : StatementRoute.Write, result.Route);
        Assert.False(result.IsCommitOrRollback);
    }

    [Theory]
    [InlineData("COMMIT")]
    [InlineData("commit;")]
    [InlineData("COMMIT WORK")]
    [InlineData("COMMIT TRANSACTION")]
    [InlineData("COMMIT AND CHAIN")]
    [InlineData("COMMIT AND NO CHAIN")]
    [InlineData("END")]
    [InlineData("END TRANSACTION")]
    [InlineData("ROLLBACK")]
    [InlineData("ROLLBACK WORK")]
    [InlineData("ROLLBACK AND CHAIN")]
    [InlineData("ABORT")]
    [InlineData("ABORT TRANSACTION")]
    [InlineData("PREPARE TRANSACTION 'gid-1'")]
    public void Commit_and_rollback_end_the_transaction(string sql)
    {
        var result = Classifier.Classify(sql);

        Assert.True(result.IsCommitOrRollback);
        Assert.False(result.IsBegin);
    }

    [Theory]
    [InlineData("ROLLBACK TO SAVEPOINT s", StatementKind.RollbackToSavepoint)]
    [InlineData("ROLLBACK TO s", StatementKind.RollbackToSavepoint)]
    [InlineData("ROLLBACK WORK TO SAVEPOINT s", StatementKind.RollbackToSavepoint)]
    [InlineData("SAVEPOINT s", StatementKind.Savepoint)]
    [InlineData("RELEASE SAVEPOINT s", StatementKind.ReleaseSavepoint)]
    [InlineData("RELEASE s", StatementKind.ReleaseSavepoint)]
    [InlineData("COMMIT PREPARED 'gid'", StatementKind.CommitPrepared)]
    [InlineData("ROLLBACK PREPARED 'gid'", StatementKind.RollbackPrepared)]
    public void Savepoints_and_two_phase_commands_do_not_end_the_transaction(string sql, StatementKind kind)
    {
        var result = Classifier.Classify(sql);

        Assert.False(result.IsCommitOrRollback);
        Assert.Equal(kind, result.Statements[0].Kind);
    }

    [Theory]
    [InlineData("SET TRANSACTION READ ONLY", true, false)]
    [InlineData("set transaction read only", true, false)]
    [InlineData("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ ONLY", true, false)]
    [InlineData("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE READ ONLY DEFERRABLE", true, false)]
    [InlineData("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY", true, false)]
    [InlineData("SET transaction_read_only = on", true, false)]
    [InlineData("SET transaction_read_only TO true", true, false)]
    [InlineData("SET TRANSACTION READ WRITE", false, true)]
    [InlineData("SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE", false, true)]
    [InlineData("SET transaction_read_only = off", false, true)]
    [InlineData("SET TRANSACTION ISOLATION LEVEL READ COMMITTED", false, false)]
    [InlineData("SET TRANSACTION SNAPSHOT '00000003-0000001B-1'", false, false)]
    [InlineData("SET default_transaction_read_only = on", false, false)]
    public void Set_transaction_reports_the_access_mode(string sql, bool readOnly, bool readWrite)
    {
        var result = Classifier.Classify(sql);

        Assert.Equal(readOnly, result.IsSetTransactionReadOnly);
        Assert.Equal(readWrite, result.IsSetTransactionReadWrite);
        Assert.Equal(readWrite ? StatementRoute.Write : StatementRoute.Read, result.Route);
    }

    [Fact]
    public void Session_characteristics_are_also_session_settings()
    {
        var result = Classifier.Classify("SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY, NOT DEFERRABLE");

        Assert.Equal(StatementKind.SetSessionCharacteristics, result.Statements[0].Kind);
        Assert.Equal(
            [
                new SessionSetting(SessionSettingKind.Set, "default_transaction_read_only", "on", "on"),
                new SessionSetting(SessionSettingKind.Set, "default_transaction_isolation", "repeatable read", "'repeatable read'"),
                new SessionSetting(SessionSettingKind.Set, "default_transaction_deferrable", "off", "off"),
            ],
            result.SessionSettings);
    }

    [Fact]
    public void Set_transaction_is_not_session_state() =>
        Assert.Empty(Classifier.Classify("SET TRANSACTION READ ONLY").SessionSettings);

    [Theory]
    [InlineData("BEGIN; INSERT INTO t VALUES (1); COMMIT")]
    [InlineData("BEGIN; SELECT 1; COMMIT")]
    public void A_transaction_in_one_text_reports_both_ends(string sql)
    {
        var result = Classifier.Classify(sql);

        Assert.True(result.IsBegin);
        Assert.False(result.BeginReadOnly);
        Assert.True(result.IsCommitOrRollback);
        Assert.Equal(StatementRoute.Write, result.Route);
    }

    [Fact]
    public void A_read_only_transaction_in_one_text_is_a_read()
    {
        var result = Classifier.Classify("BEGIN READ ONLY; SELECT * FROM t; COMMIT;");

        Assert.True(result.BeginReadOnly);
        Assert.Equal(StatementRoute.Read, result.Route);
    }

    [Fact]
    public void Begin_inside_a_function_body_is_not_a_transaction()
    {
        var result = Classifier.Classify("CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$");

        Assert.False(result.IsBegin);
        Assert.False(result.IsCommitOrRollback);
    }

    [Fact]
    public void A_begin_atomic_body_stays_one_statement()
    {
        const string Sql = "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN true THEN 1 END; SELECT 2; END; SELECT 3";
        var result = Classifier.Classify(Sql);

        Assert.Equal(2, result.Statements.Count);
        Assert.Equal(StatementKind.Ddl, result.Statements[0].Kind);
        Assert.Equal(StatementKind.Select, result.Statements[1].Kind);
        Assert.False(result.IsCommitOrRollback);
        Assert.False(result.IsBegin);
    }

    [Theory]
    [InlineData("SAVEPOINT s", StatementKind.Savepoint, "s")]
    [InlineData("savepoint My_Point;", StatementKind.Savepoint, "my_point")]
    [InlineData("SAVEPOINT \"My Point\"", StatementKind.Savepoint, "My Point")]
    [InlineData("RELEASE SAVEPOINT S", StatementKind.ReleaseSavepoint, "s")]
    [InlineData("RELEASE s", StatementKind.ReleaseSavepoint, "s")]
    [InlineData("ROLLBACK TO SAVEPOINT s", StatementKind.RollbackToSavepoint, "s")]
    [InlineData("ROLLBACK TO s", StatementKind.RollbackToSavepoint, "s")]
    [InlineData("ROLLBACK WORK TO SAVEPOINT \"S\"", StatementKind.RollbackToSavepoint, "S")]
    [InlineData("ROLLBACK TRANSACTION TO s", StatementKind.RollbackToSavepoint, "s")]
    public void Savepoint_commands_name_their_savepoint(string sql, StatementKind kind, string name)
    {
        var statement = Classifier.Single(sql);

        Assert.Equal(kind, statement.Kind);
        Assert.Equal(name, statement.SavepointName);
    }

    [Theory]
    [InlineData("COMMIT", false)]
    [InlineData("COMMIT AND CHAIN", true)]
    [InlineData("commit work and chain;", true)]
    [InlineData("COMMIT AND NO CHAIN", false)]
    [InlineData("END TRANSACTION AND CHAIN", true)]
    [InlineData("ROLLBACK AND CHAIN", true)]
    [InlineData("ROLLBACK AND NO CHAIN", false)]
    [InlineData("ABORT AND CHAIN", true)]
    [InlineData("ABORT", false)]
    public void Commit_and_rollback_say_whether_a_new_transaction_follows(string sql, bool chain)
    {
        var statement = Classifier.Single(sql);

        Assert.True(statement.Kind is StatementKind.Commit or StatementKind.Rollback);
        Assert.Equal(chain, statement.AndChain);
        Assert.Null(statement.SavepointName);
    }
}
