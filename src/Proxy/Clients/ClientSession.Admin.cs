using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.Logging;
using Sluice.Protocol.Messages;
using Sluice.Protocol.Startup;
using Sluice.Proxy.Admin;
using Sluice.Proxy.Pooling;
using Sluice.Proxy.Servers;

namespace Sluice.Proxy.Clients;

/// <summary>What the admin console reads of a client (SHOW CLIENTS, SHOW POOLS) and does to it (KILL), and its own login.</summary>
internal sealed partial class ClientSession
{
    private long _waitingSince;
    private string? _shutdownMessage;
    private bool _isAdminConsole;

    /// <summary>A session of the admin console rather than of a database.</summary>
    public bool IsAdminConsole => _isAdminConsole;

    /// <summary>The pool this client borrows from; null before login and on the admin console.</summary>
    public ServerPool? Pool => _pool;

    /// <summary>The process id of the backend key this client was given (SHOW CLIENTS id).</summary>
    public int ClientId => _cancelProcessId;

    public IPEndPoint? RemoteEndPoint => _client.RemoteEndPoint;

    public EndPoint? LocalEndPoint => _client.LocalEndPoint;

    public DateTime ConnectedAtUtc => DateTime.UtcNow - ConnectedFor;

    /// <summary>The server lent to this client right now, if any.</summary>
    public ServerConnection? LinkedServer
    {
        get
        {
            lock (_linkLock)
            {
                return _lease?.Server;
            }
        }
    }

    /// <summary>Waiting for a server: held by PAUSE or queued in the pool.</summary>
    public bool IsWaiting => _waiting;

    /// <summary>How long this client has waited for a server so far; zero when it is not waiting.</summary>
    public TimeSpan WaitingFor => _waiting && Volatile.Read(ref _waitingSince) is var since and not 0 ? Stopwatch.GetElapsedTime(since) : TimeSpan.Zero;

    /// <summary>KILL: closes the client now, telling it 57P01 with <paramref name="message"/>; a running transaction is rolled back.</summary>
    public void Kill(string message)
    {
        _shutdownMessage = message;
        ForceShutdown();
    }

    /// <summary>
    /// The start of a checkout (AttachAsync): waits while the pool is paused, the client counting as waiting (State,
    /// SHOW CLIENTS) from here until the returned scope is disposed at the end of AttachAsync.
    /// </summary>
    private async ValueTask<WaitingScope> BeginCheckoutAsync(ServerPool pool, CancellationToken token)
    {
        Volatile.Write(ref _waitingSince, Stopwatch.GetTimestamp());
        _waiting = true;
        try
        {
            await pool.WaitWhilePausedAsync(token);
        }
        catch
        {
            EndWaiting();
            throw;
        }

        return new WaitingScope(this);
    }

    private void EndWaiting()
    {
        _waiting = false;
        Volatile.Write(ref _waitingSince, 0);
    }

    /// <summary>The login went to server.admin_database: admin users get the console, everyone else 28000.</summary>
    private async Task<bool> RunAdminConsoleAsync(StartupPacket startup)
    {
        if (!_runtime.Config.Server.AdminUsers.Contains(_userName))
        {
            LogAdminRefused(_logger, _userName, RemoteAddress);
            return await RefuseAsync(SqlState.InvalidAuthorizationSpecification, "user is not allowed on the admin console");
        }

        _isAdminConsole = true;
        _closeReason = "admin console closed";
        (_cancelProcessId, var secretKey) = _runtime.CancelKeys.Register(this);
        var console = new AdminSession(_runtime, _client, _userName, startup.GetParameter("application_name") ?? "");
        await console.StartAsync(_cancelProcessId, secretKey, _closing.Token);
        _runtime.Sessions.TryAdd(this, 0);
        if (_runtime.IsDraining)
        {
            RequestShutdown();
        }

        LogAdminConnected(_logger, _userName, RemoteAddress);
        await console.RunAsync(_closing.Token);
        _closeReason = console.CloseReason;
        return false;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "admin console: user={User} address={Address} connected")]
    private static partial void LogAdminConnected(ILogger logger, string user, string address);

    [LoggerMessage(Level = LogLevel.Warning, Message = "admin console refused: user={User} address={Address} is not in server.admin_users")]
    private static partial void LogAdminRefused(ILogger logger, string user, string address);

    private readonly struct WaitingScope(ClientSession session) : IDisposable
    {
        public void Dispose() => session.EndWaiting();
    }
}
