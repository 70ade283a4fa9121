namespace Sluice.Routing.Classification;

/// <summary>
/// Why a statement ties the client to the server connection it ran on: it creates server session state that later
/// statements depend on, so a transaction pooler must stop sharing that connection. Statements that only remove such
/// state (UNLISTEN, pg_advisory_unlock, DEALLOCATE, CLOSE) do not pin: a client that created the state is pinned already.
/// </summary>
[Flags]
public enum SessionPinReasons
{
    None = 0,

    /// <summary><c>LISTEN channel</c>.</summary>
    Listen = 1,

    /// <summary>A session-level advisory lock: pg_advisory_lock[_shared], pg_try_advisory_lock[_shared] (not the _xact_ variants).</summary>
    AdvisoryLock = 2,

    /// <summary><c>DECLARE ... CURSOR WITH HOLD</c>.</summary>
    HoldCursor = 4,

    /// <summary>SQL-level <c>PREPARE name AS ...</c>.</summary>
    PreparedStatement = 8,

    /// <summary>
    /// A temporary table, view or sequence (<c>CREATE TEMP ...</c>, <c>CREATE TABLE pg_temp.x</c>,
    /// <c>SELECT ... INTO TEMP</c>), except <c>ON COMMIT DROP</c> tables.
    /// </summary>
    TemporaryTable = 16,

    /// <summary>
    /// <c>set_config(name, value, false)</c> with a name, value or is_local that is not a literal (<c>$1</c>, an
    /// expression): the setting cannot be known, hence not carried to another connection.
    /// </summary>
    UntrackedSetting = 32,
}
