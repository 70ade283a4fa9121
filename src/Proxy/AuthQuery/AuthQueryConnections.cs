using System.Collections.Concurrent;
using Sluice.Protocol.Messages;
using Sluice.Proxy.Security;
using Sluice.Proxy.Servers;
using Sluice.Proxy.Transport;

namespace Sluice.Proxy.AuthQuery;

/// <summary>
/// The dedicated small pool that runs auth_query: at most <see cref="MaxPerTarget"/> connections per (server, database,
/// auth_user), kept open between look-ups. Separate from the client pools, so a look-up never waits behind (or takes a
/// server from) the clients, and a client never gets the auth_user's session.
/// </summary>
internal sealed class AuthQueryConnections : IAsyncDisposable
{
    public const int MaxPerTarget = 2;

    private const int MaxReplyLength = 1024 * 1024;

    private readonly ConcurrentDictionary<ServerLoginTarget, Slot> _slots = new();

    /// <summary>
    /// Runs <paramref name="query"/> with <paramref name="userName"/> as its one text parameter (Parse/Bind/Execute,
    /// never spliced into the text) and returns the first row's columns, or null for no row.
    /// </summary>
    public async Task<string?[]?> QueryAsync(ServerLoginTarget target, ServerTlsOptions tls, string query, string userName, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var slot = _slots.GetOrAdd(target, static _ => new Slot());
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (timeout > TimeSpan.Zero)
        {
            deadline.CancelAfter(timeout);
        }

        try
        {
            await slot.Turns.WaitAsync(deadline.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw AuthQueryException.Unreachable($"every look-up connection to {target.ServerName} stayed busy for {timeout.TotalSeconds:0.#}s");
        }

        ServerConnection? server = null;
        try
        {
            if (!slot.Idle.TryPop(out server))
            {
                server = await ServerConnection.ConnectAsync(target, timeout, tls, null, deadline.Token);
            }

            var row = await RunAsync(server, query, userName, deadline.Token);
            slot.Idle.Push(server);
            server = null;
            return row;
        }
        catch (ServerConnectException ex)
        {
            // PostgreSQL answered the login with an error (wrong auth_user password, no such database): a refusal.
            throw ex.ServerError is { } error
                ? AuthQueryException.Refused($"auth_user '{target.User}' cannot log in to {target.ServerName}: {error.SqlState} {error.Message}")
                : AuthQueryException.Unreachable(ex.Message, ex);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw AuthQueryException.Unreachable($"no answer from {target.ServerName} within {timeout.TotalSeconds:0.#}s");
        }
        catch (Exception ex) when (ex is IOException or EndOfStreamException or System.Net.Sockets.SocketException or Protocol.ProtocolViolationException)
        {
            throw AuthQueryException.Unreachable($"connection to {target.ServerName} failed: {ex.Message}", ex);
        }
        finally
        {
            if (server is not null)
            {
                await server.DisposeAsync();
            }

            slot.Turns.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var slot in _slots.Values)
        {
            while (slot.Idle.TryPop(out var server))
            {
                await server.DisposeAsync();
            }
        }
    }

    private static async Task<string?[]?> RunAsync(ServerConnection server, string query, string userName, CancellationToken cancellationToken)
    {
        var output = server.Connection.Output;
        MessageWriter.WriteParse(output, "", query, []);
        MessageWriter.WriteBind(output, "", "", [userName]);
        MessageWriter.WriteExecute(output, "", 0);
        MessageWriter.WriteSync(output);
        await output.FlushAsync(cancellationToken);

        string?[]? row = null;
        ErrorFields? error = null;
        while (true)
        {
            var frame = await ControlFrame.ReadAsync(server.Connection.Input, MaxReplyLength, cancellationToken);
            switch ((BackendMessageCode)frame.Code)
            {
                case BackendMessageCode.DataRow:
                    row ??= BackendMessageReader.ReadDataRowText(frame.PayloadSequence);
                    break;
                case BackendMessageCode.ErrorResponse:
                    error ??= BackendMessageReader.ReadErrorFields(frame.PayloadSequence);
                    break;
                case BackendMessageCode.ReadyForQuery:
                    if (error is { } failed)
                    {
                        throw AuthQueryException.Refused($"auth_query failed on {server.Target.ServerName}: {failed.SqlState} {failed.Message}");
                    }

                    return row;
            }
        }
    }

    private sealed class Slot
    {
        public SemaphoreSlim Turns { get; } = new(MaxPerTarget, MaxPerTarget);

        public ConcurrentStack<ServerConnection> Idle { get; } = new();
    }
}
