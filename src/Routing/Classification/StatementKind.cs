namespace Sluice.Routing.Classification;

/// <summary>The command a statement is, as far as routing cares.</summary>
public enum StatementKind
{
    /// <summary>Not recognised, or the text could not be lexed (unterminated string or comment, stray character, unbalanced parentheses).</summary>
    Unknown,

    Select,
    Values,
    Table,
    Show,
    Explain,
    Insert,
    Update,
    Delete,
    Merge,
    Truncate,
    Copy,

    /// <summary>CREATE / ALTER / DROP / GRANT / REVOKE / COMMENT / SECURITY LABEL / IMPORT FOREIGN SCHEMA / REASSIGN OWNED.</summary>
    Ddl,

    /// <summary>VACUUM / ANALYZE / CLUSTER / REINDEX / REFRESH MATERIALIZED VIEW / CHECKPOINT.</summary>
    Maintenance,

    Call,
    Do,
    Lock,
    Listen,
    Unlisten,
    Notify,
    Prepare,
    Execute,
    Deallocate,
    Declare,
    Fetch,
    Move,
    Close,
    Load,

    /// <summary>BEGIN / START TRANSACTION.</summary>
    Begin,

    /// <summary>COMMIT / END.</summary>
    Commit,

    /// <summary>ROLLBACK / ABORT (not ROLLBACK TO SAVEPOINT).</summary>
    Rollback,

    Savepoint,
    ReleaseSavepoint,
    RollbackToSavepoint,
    PrepareTransaction,
    CommitPrepared,
    RollbackPrepared,

    /// <summary><c>SET TRANSACTION ...</c> (the current transaction only).</summary>
    SetTransaction,

    /// <summary><c>SET SESSION CHARACTERISTICS AS TRANSACTION ...</c> (the session default).</summary>
    SetSessionCharacteristics,

    /// <summary>SET / SET LOCAL (also <c>SET sluice.route</c>, SET CONSTRAINTS).</summary>
    Set,

    Reset,
    Discard,
}
