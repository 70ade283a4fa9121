using System.Buffers;
using System.Diagnostics;
using Sluice.Protocol;
using Sluice.Protocol.Messages;
using Sluice.Proxy.Failover;
using Sluice.Proxy.Pooling;
using Sluice.Proxy.Servers;

namespace Sluice.Proxy.Clients;

/// <summary>
/// Checkout: the server for the transaction a message starts — chosen by routing, waited for through a failover,
/// borrowed from its pool and made to carry the client's session settings — and the pump that serves it.
/// </summary>
internal sealed partial class ClientSession
{
    /// <summary>
    /// Borrows a server for the transaction this message starts and starts the pump. Null when refused: the client was
    /// told, and Fatal says whether its session ends (pool timeout, session mode) or goes on (no primary, server lost).
    /// A login that fails the way a failover explains is tried again on whichever server is the primary then, within
    /// routing.failover_wait: nothing of the transaction has reached a server yet.
    /// </summary>
    private async Task<(ServerLease? Lease, bool Fatal)> AttachAsync(Inspection inspection, ReadOnlySequence<byte> batch, CancellationToken token)
    {
        // The previous pump may still be flushing its last ReadyForQuery to the client: it owns the client's output
        // until it ends.
        await _pump;
        var kind = DecideRoute(inspection, batch);
        var floorApplies = ReadFloorApplies(inspection);
        var failover = _runtime.Failover.Start();
        var rateAdmitted = false;
        while (true)
        {
            var (pool, node, route, refusal) = await ChooseServerAsync(kind, floorApplies, failover, token);
            if (pool is null)
            {
                LogNoServer(_logger, _userName, _databaseName, refusal!);
                MessageWriter.WriteErrorResponse(_client.Output, "ERROR", SqlState.ConnectionFailure, refusal!);
                await _client.Output.FlushAsync(token);
                return (null, false);
            }

            _pool = pool;

            using var waiting = await BeginCheckoutAsync(pool, token);
            var waitStarted = Stopwatch.GetTimestamp();
            ServerConnection server;
            _waiting = true;
            try
            {
                if (!rateAdmitted)
                {
                    await _runtime.Limits.WaitForTransactionAsync(_databaseName, _runtime.Config.FindUser(_userName) ?? _user!, pool.Settings.CheckoutTimeout, token);
                    rateAdmitted = true;
                }

                server = await pool.CheckoutAsync(token, waitStarted);
                _stats!.AddWait(waitStarted);
                _runtime.Metrics.CheckoutWait(Stopwatch.GetElapsedTime(waitStarted).TotalSeconds);
            }
            catch (PoolTimeoutException ex)
            {
                _closeReason = "pool wait timeout";
                LogPoolTimeout(_logger, _userName, _databaseName, RemoteAddress, Stopwatch.GetElapsedTime(waitStarted).TotalSeconds);
                node?.Release();
                await TryFailClientAsync(SqlState.TooManyConnections, ex.Message);
                return (null, true);
            }
            catch (ServerConnectException ex)
            {
                node?.Release();
                if (await RetryLoginAsync(pool, ex, failover, token))
                {
                    continue;
                }

                return (null, await RefuseCheckoutAsync(ex.ServerError?.SqlState ?? SqlState.ConnectionFailure, ex.ServerError?.Message ?? ex.Message, "server unavailable", token));
            }
            finally
            {
                _waiting = false;
            }

            try
            {
                await SyncParametersAsync(server, token);
            }
            catch (ServerConnectException ex) when (ex.ServerError is { } error)
            {
                // The client's own settings are invalid (a bad startup parameter): PostgreSQL would refuse this login too.
                pool.Release(server);
                node?.Release();
                _closeReason = "invalid session parameter";
                await TryFailClientAsync(error.SqlState, error.Message);
                return (null, true);
            }
            catch (Exception ex) when (IsConnectionFailure(ex) || ex is ServerConnectException or ProtocolViolationException)
            {
                server.MarkBroken();
                pool.Discard(server);
                node?.Release();
                if (await RetryLoginAsync(pool, new ServerConnectException(ex.Message, ex), failover, token))
                {
                    continue;
                }

                return (null, await RefuseCheckoutAsync(SqlState.ConnectionFailure, ServerFailure.LostMessage(ex.Message), "server connection lost", token));
            }

            var lease = new ServerLease(server, node, route) { StatementContext = Renaming ? CurrentStatementContext() : null };
            lock (_linkLock)
            {
                _lease = lease;
                _servedOnce = true;
            }

            _pump = PumpAsync(lease);
            return (lease, false);
        }
    }
}
