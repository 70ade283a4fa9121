using System.Diagnostics;
using Sluice.Protocol.Messages;
using Sluice.Proxy.Servers;

namespace Sluice.Proxy.Clients;

/// <summary>
/// The limits PostgreSQL cannot enforce for a pooler: statement_timeout (cancel the statement, keep the client),
/// idle_in_transaction_timeout (roll back, give the server back, disconnect with 25P03), client_idle_timeout.
/// Checked by the runtime's sweeper a few times a second, so no timer is armed per query.
/// </summary>
internal sealed partial class ClientSession
{
    private (string SqlState, string Message)? _closeError;

    public void CheckTimeouts()
    {
        if (_policy is null)
        {
            return;
        }

        // Between transactions nothing runs whose rules could change: client_idle_timeout comes from the config as it
        // is now. The other two come from the policy the running transaction started with.
        var clientIdleTimeout = _runtime.Config.Limits.ClientIdleTimeout;
        ServerConnection? cancelOn = null;
        string? closeReason = null;
        TimeSpan statementTimeout;
        lock (_linkLock)
        {
            statementTimeout = _policy.StatementTimeout;
            var idleInTransactionTimeout = _policy.IdleInTransactionTimeout;
            if (_lease is { } lease)
            {
                if (statementTimeout > TimeSpan.Zero && lease.PendingReady > 0 && lease.QueryStart != 0 && !lease.StatementCancelSent
                    && Stopwatch.GetElapsedTime(lease.QueryStart) > statementTimeout)
                {
                    lease.StatementCancelSent = true;
                    cancelOn = lease.Server;
                }
                else if (idleInTransactionTimeout > TimeSpan.Zero && lease.PendingReady == 0 && !lease.Unsynced
                         && lease.Server.TransactionStatus != TransactionStatus.Idle && Stopwatch.GetElapsedTime(_lastActivity) > idleInTransactionTimeout)
                {
                    closeReason = "idle_in_transaction_timeout";
                    _closeError = (SqlState.IdleInTransactionSessionTimeout, "terminating connection due to idle-in-transaction timeout");
                }
            }
            else if (clientIdleTimeout > TimeSpan.Zero && !_waiting && _lastActivity != 0 && Stopwatch.GetElapsedTime(_lastActivity) > clientIdleTimeout)
            {
                closeReason = "client_idle_timeout";
                _closeError = ("57P05", "terminating connection due to idle timeout (client_idle_timeout)");
            }
        }

        if (cancelOn is not null)
        {
            _runtime.Metrics.StatementTimeout(_databaseName, _userName);
            LogStatementTimeout(_logger, _userName, _databaseName, RemoteAddress, statementTimeout.TotalSeconds);
            _ = cancelOn.SendCancelAsync(CancellationToken.None);
        }

        if (closeReason is not null)
        {
            _closeReason = closeReason;
            CancelClosing();
        }
    }
}
