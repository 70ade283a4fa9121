namespace Sluice.Routing.Classification;

/// <summary>What kind of session-state change a <see cref="SessionSetting"/> is.</summary>
public enum SessionSettingKind
{
    /// <summary><c>SET [SESSION] name {TO|=} value</c> (and the special forms: TIME ZONE, NAMES, SCHEMA, ROLE, ...).</summary>
    Set,

    /// <summary><c>RESET name</c>, <c>SET name TO DEFAULT</c>, <c>SET TIME ZONE LOCAL</c>, <c>SET ROLE NONE</c>.</summary>
    Reset,

    /// <summary><c>RESET ALL</c>.</summary>
    ResetAll,

    /// <summary><c>DISCARD ALL</c>: every setting, prepared statement, cursor, temp table, listen and advisory lock is gone.</summary>
    DiscardAll,

    /// <summary><c>DISCARD PLANS</c>.</summary>
    DiscardPlans,

    /// <summary><c>DISCARD SEQUENCES</c>.</summary>
    DiscardSequences,

    /// <summary><c>DISCARD TEMP</c> / <c>DISCARD TEMPORARY</c>: temporary tables are dropped.</summary>
    DiscardTemp,
}

/// <summary>
/// A change of session state made by SET / RESET / DISCARD, or by <c>set_config(name, value, false)</c> with literal
/// arguments (a NULL value is a reset). SET LOCAL and <c>set_config(..., true)</c> are transaction state and are not reported.
/// </summary>
/// <param name="Kind">What the statement does.</param>
/// <param name="Name">
/// The parameter name for <see cref="SessionSettingKind.Set"/> and <see cref="SessionSettingKind.Reset"/>, lower case,
/// except the names PostgreSQL reports in ParameterStatus with capitals: <c>TimeZone</c>, <c>DateStyle</c>,
/// <c>IntervalStyle</c>. Special forms map to their parameter: TIME ZONE → TimeZone, NAMES → client_encoding,
/// SCHEMA → search_path, ROLE → role, SESSION AUTHORIZATION → session_authorization, XML OPTION → xmloption,
/// SESSION CHARACTERISTICS AS TRANSACTION → default_transaction_read_only / _isolation / _deferrable.
/// Null for the other kinds.
/// </param>
/// <param name="Value">
/// The value as the server would see it (strings unquoted, identifiers case-folded, list items joined with ", ");
/// null for resets.
/// </param>
/// <param name="ValueSql">
/// The value exactly as written in the statement (e.g. <c>'UTC'</c>, <c>a,b</c>), to replay it as
/// <c>SET name TO ValueSql</c> on another connection; null for resets.
/// </param>
public sealed record SessionSetting(SessionSettingKind Kind, string? Name, string? Value, string? ValueSql);
