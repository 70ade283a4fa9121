using System.Diagnostics;
using Sluice.Protocol.Messages;
using Sluice.Proxy.Servers;

namespace Sluice.Proxy.Clients;

/// <summary>
/// The client loop's side of a lent server: what a message makes the server owe, noted before it is sent; the claim on
/// the server's writer until its flush returns (a lease the pump ended meanwhile is handed back here); and making the
/// server's session settings this client's before its first message runs there.
/// </summary>
internal sealed partial class ClientSession
{
    /// <summary>
    /// Claims the lent server for writing until the next flush (the pump then hands it back only through the client loop)
    /// and records what the message will make the server answer, before the server can answer it. False when the server
    /// is no longer this client's: the pump gave it back at the end of the transaction a moment ago.
    /// </summary>
    private bool TryNoteSent(ServerLease lease, FrontendMessageCode code)
    {
        lock (_linkLock)
        {
            if (_lease != lease)
            {
                return false;
            }

            _flushing = lease;
            if (lease.PendingReady == 0 && !lease.Unsynced)
            {
                lease.StatementCancelSent = false;
                lease.QueryStart = Stopwatch.GetTimestamp();
                if (lease.TransactionStart == 0)
                {
                    lease.TransactionStart = lease.QueryStart;
                }
            }

            switch (code)
            {
                case FrontendMessageCode.Query:
                case FrontendMessageCode.FunctionCall:
                    lease.PendingReady++;
                    break;
                case FrontendMessageCode.Sync:
                    lease.PendingReady++;
                    lease.Unsynced = false;
                    break;
                case FrontendMessageCode.CopyData:
                case FrontendMessageCode.CopyDone:
                case FrontendMessageCode.CopyFail:
                    break;
                default:
                    lease.Unsynced = true;
                    break;
            }

            return true;
        }
    }

    /// <summary>Claims the lent server for writing the rest of a message already started on it; false when it was lost.</summary>
    private bool ClaimForWrite(ServerLease lease)
    {
        lock (_linkLock)
        {
            if (_lease != lease)
            {
                return false;
            }

            _flushing = lease;
            return true;
        }
    }

    private async Task FlushToServerAsync(ServerLease lease, CancellationToken token)
    {
        try
        {
            await lease.Server.Connection.Output.FlushAsync(token);
        }
        catch (Exception ex) when (IsConnectionFailure(ex))
        {
            // The pump sees the same failure on its side and tells the client; wait for it to finish doing so.
            lease.Server.MarkBroken();
            if (EndClientWrite() is { } orphan)
            {
                orphan.Server.Pool!.Discard(orphan.Server);
            }

            await _pump;
            if (!SurvivesServerLoss)
            {
                throw;
            }

            return;
        }

        if (EndClientWrite() is { } giveBack)
        {
            giveBack.Server.Pool!.Release(giveBack.Server);
        }
    }

    /// <summary>The client loop's flush returned: the lease it wrote to, when it ended meanwhile and is this loop's to hand back.</summary>
    private ServerLease? EndClientWrite()
    {
        lock (_linkLock)
        {
            return TakeFlushingLocked();
        }
    }

    private ServerLease? TakeFlushingLocked()
    {
        var flushed = _flushing;
        _flushing = null;
        if (flushed is not { HandBackAfterFlush: true })
        {
            return null;
        }

        flushed.HandBackAfterFlush = false;
        return flushed;
    }

    /// <summary>Makes the lent server's session settings this client's before its first message runs there.</summary>
    private async Task SyncParametersAsync(ServerConnection server, CancellationToken token)
    {
        _settingsJournal.Clear();
        var sql = _parameters.BuildSyncSql(server.ReportedParameters, server.UnreportedSettings);
        if (sql is null)
        {
            return;
        }

        var changes = _parameters.Differences(server.ReportedParameters, server.UnreportedSettings).ToList();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(token);
        timeout.CancelAfter(server.Pool?.Settings.ConnectTimeout ?? TimeSpan.FromSeconds(15));
        ErrorFields? error;
        try
        {
            error = await server.RunControlQueryAsync(sql, timeout.Token);
        }
        catch (OperationCanceledException) when (!token.IsCancellationRequested)
        {
            throw new IOException("the server did not answer the session settings in time");
        }

        if (error is not null)
        {
            throw new ServerConnectException($"could not apply session settings: {error.Message}", error);
        }

        foreach (var name in server.UnreportedSettings.Keys.Where(name => !_parameters.TryGet(name, out _)).ToList())
        {
            server.UnreportedSettings.Remove(name);
        }

        foreach (var (name, value) in changes)
        {
            if (server.ReportedParameters.TryGetValue(name, out var canonical))
            {
                // The server reports its own spelling (UTF8 for utf8): remember that, or every lending would SET again.
                _parameters.Set(name, canonical);
            }
            else
            {
                server.UnreportedSettings[name] = value;
            }
        }
    }
}
