namespace Sluice.Routing.Topology;

/// <summary>
/// What one health check read from a server:
/// <c>SELECT pg_is_in_recovery(), CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_insert_lsn() END,
/// pg_last_wal_receive_lsn(), now() - pg_last_xact_replay_timestamp()</c>.
/// </summary>
/// <param name="InRecovery">True for a standby.</param>
/// <param name="WalLsn">A standby's replay position, or a primary's current write position.</param>
/// <param name="ReceiveLsn">How far a standby has received WAL (null on a primary, or before a standby streamed anything).</param>
/// <param name="ReplayAge">
/// How long ago the last transaction a standby replayed was committed on the primary (null on a primary, or before it
/// replayed one). An upper bound of its lag, and a loose one when the primary is idle.
/// </param>
public readonly record struct ServerProbe(bool InRecovery, Lsn WalLsn, Lsn? ReceiveLsn = null, TimeSpan? ReplayAge = null)
{
    public static ServerProbe Primary(Lsn current) => new(false, current);

    public static ServerProbe Replica(Lsn replay, Lsn? receive = null, TimeSpan? replayAge = null) => new(true, replay, receive, replayAge);
}

/// <summary>A primary's write position as read at one moment (the moment the check was sent).</summary>
public readonly record struct WalSample(DateTimeOffset At, Lsn Lsn);
