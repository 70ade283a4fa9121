using System.Diagnostics;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Sluice.Protocol;
using Sluice.Protocol.Framing;
using Sluice.Protocol.Messages;
using Sluice.Protocol.Startup;
using Sluice.Proxy.Configuration;
using Sluice.Proxy.Observability;
using Sluice.Proxy.Pooling;
using Sluice.Proxy.Runtime;
using Sluice.Proxy.Security;
using Sluice.Proxy.Servers;
using Sluice.Proxy.Transport;
using Sluice.Routing.Topology;

namespace Sluice.Proxy.Clients;

/// <summary>
/// One client connection from accept to close: startup and authentication, then relaying its messages to a server
/// connection lent by the pool (for the session, or per transaction), then giving the server back clean.
/// </summary>
internal sealed partial class ClientSession
{
    private readonly ProxyRuntime _runtime;
    private readonly DuplexConnection _client;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _closing = new();
    private readonly long _connectedAt = Stopwatch.GetTimestamp();
    private readonly SessionParameters _parameters = new();
    private string _userName = "";
    private string _databaseName = "";
    private UserConfig? _user;
    private ServerPool? _pool;
    private DatabaseStats? _stats;
    private SessionPolicy? _policy;
    private int _cancelProcessId;
    private bool _countedUser;
    private bool _countedDatabase;
    private bool _countedClient;
    private string _closeReason = "client closed the connection";
    private ClientTlsSession? _tls;

    public ClientSession(ProxyRuntime runtime, DuplexConnection client)
    {
        _runtime = runtime;
        _client = client;
        _logger = runtime.LoggerFactory.CreateLogger<ClientSession>();
    }

    public string UserName => _userName;

    public string DatabaseName => _databaseName;

    public string RemoteAddress => _client.RemoteEndPoint?.ToString() ?? "unknown";

    /// <summary>The pool mode the client logged in with (Session for the admin console).</summary>
    public PoolMode Mode => _policy?.Mode ?? PoolMode.Session;

    /// <summary>active (linked to a server), waiting (for one), idle.</summary>
    public string State => _waiting ? "waiting" : IsLinked ? "active" : "idle";

    public TimeSpan ConnectedFor => Stopwatch.GetElapsedTime(_connectedAt);

    /// <summary>The client's TLS session; null for a plaintext connection.</summary>
    public ClientTlsSession? Tls => _tls;

    public async Task RunAsync()
    {
        try
        {
            if (!await LoginAsync())
            {
                return;
            }

            LogConnected(_logger, _userName, _databaseName, RemoteAddress, Mode);
            await RelayAsync();
        }
        catch (ProtocolViolationException ex)
        {
            // Told in CloseAsync, once the pump (which may be writing to this client right now) has stopped.
            _closeReason = "protocol violation: " + ex.Message;
            _runtime.Metrics.ConnectionRejected(RejectionReason.ProtocolViolation);
            _closeError = (SqlState.ProtocolViolation, ex.Message);
        }
        catch (Exception ex) when (IsConnectionFailure(ex))
        {
            _closeReason = "connection lost: " + ex.Message;
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception ex)
        {
            // A bug: this client is told and closed; nothing else is affected.
            _closeReason = "internal error";
            LogSessionFailed(_logger, RemoteAddress, ex);
            _closeError = (SqlState.InternalError, "internal error in the proxy");
        }
        finally
        {
            await CloseAsync();
        }
    }

    /// <summary>Forwards a CancelRequest to whichever server runs this client's query now.</summary>
    public Task CancelCurrentQueryAsync(CancellationToken cancellationToken)
    {
        ServerConnection? server;
        lock (_linkLock)
        {
            server = _lease?.Server;
        }

        return server is null ? Task.CompletedTask : server.SendCancelAsync(cancellationToken);
    }

    private static bool IsConnectionFailure(Exception ex) => ex is IOException or SocketException or EndOfStreamException or ObjectDisposedException;

    private async Task<bool> LoginAsync()
    {
        var config = _runtime.Config;
        using var loginTimeout = CancellationTokenSource.CreateLinkedTokenSource(_closing.Token);
        if (config.Limits.ClientLoginTimeout > TimeSpan.Zero)
        {
            loginTimeout.CancelAfter(config.Limits.ClientLoginTimeout);
        }

        StartupPacket? startup;
        try
        {
            startup = await ReadStartupAsync(loginTimeout.Token);
            if (startup is null)
            {
                return false;
            }

            if (!_runtime.Security.Admits(_client.RemoteEndPoint))
            {
                _closeReason = "address not in server.allow";
                return await RefuseAsync(SqlState.InvalidAuthorizationSpecification, ProxySecurity.NotAllowedMessage(_client.RemoteEndPoint));
            }

            if (startup.Kind == StartupPacketKind.CancelRequest)
            {
                _closeReason = "cancel request";
                await HandleCancelRequestAsync(startup, loginTimeout.Token);
                return false;
            }

            if (startup.MinorVersion > 0 || startup.ProtocolOptions.Count > 0)
            {
                MessageWriter.WriteNegotiateProtocolVersion(_client.Output, 0, startup.ProtocolOptions);
            }

            if (await _runtime.Limits.AdmitConnectionAsync(_client.RemoteEndPoint, config.Limits, loginTimeout.Token) is { } rateRefusal)
            {
                return await RefuseAsync(SqlState.TooManyConnections, rateRefusal.Message, rateRefusal.Reason);
            }

            if (!_runtime.TryAddClient())
            {
                return await RefuseAsync(SqlState.TooManyConnections, "sorry, too many clients already (max_client_connections)", RejectionReason.MaxClientConnections);
            }

            _countedClient = true;
            if (_tls is null && _runtime.Security.ClientTlsMode == TlsMode.Require)
            {
                return await RefuseAsync(SqlState.InvalidAuthorizationSpecification, "SSL required: this proxy accepts only TLS connections (tls.mode = \"require\"); connect with sslmode=require");
            }

            _userName = startup.GetParameter("user") ?? "";
            _databaseName = startup.GetParameter("database") is { Length: > 0 } database ? database : _userName;
            if (startup.GetParameter("replication") is { } replication && replication != "false" && replication != "0" && replication != "off")
            {
                return await RefuseAsync(SqlState.FeatureNotSupported, "replication connections are not supported by the proxy; connect to the server directly");
            }

            _user = config.FindUser(_userName) ?? await LookUpUserAsync(config, loginTimeout.Token);
            if (_lookupError is { } lookupError)
            {
                return await RefuseAsync(lookupError.SqlState, lookupError.Message, RejectionReason.AuthFailed);
            }

            if (!await AuthenticateAsync(loginTimeout.Token))
            {
                _closeReason = "authentication failed";
                LogAuthenticationFailed(_logger, _userName, RemoteAddress);
                await _runtime.Security.DelayFailedLoginAsync(_client.RemoteEndPoint, _closing.Token);
                return await RefuseAsync(SqlState.InvalidPassword, $"password authentication failed for user \"{_userName}\"", RejectionReason.AuthFailed);
            }
        }
        catch (OperationCanceledException) when (!_closing.IsCancellationRequested)
        {
            _closeReason = "login timeout";
            return await RefuseAsync(SqlState.ConnectionFailure, "client_login_timeout: login did not finish in time", RejectionReason.LoginTimeout);
        }

        if (_databaseName == config.Server.AdminDatabase)
        {
            return await RunAdminConsoleAsync(startup);
        }

        var user = _user!;
        var databaseConfig = config.FindDatabase(_databaseName);
        if (databaseConfig is null)
        {
            return await RefuseAsync(SqlState.InvalidCatalogName, $"database \"{_databaseName}\" does not exist", RejectionReason.UnknownDatabase);
        }

        if (await _runtime.Limits.AdmitLoginAsync(user, databaseConfig, config.Limits, _closing.Token) is { } limitRefusal)
        {
            return await RefuseAsync(SqlState.TooManyConnections, limitRefusal.Message, limitRefusal.Reason);
        }

        _countedDatabase = true;

        if (!_runtime.TryAddUserClient(user))
        {
            return await RefuseAsync(SqlState.TooManyConnections, $"too many connections for user \"{_userName}\" (max_client_connections)", RejectionReason.MaxUserClientConnections);
        }

        _countedUser = true;
        _stats = _runtime.Stats.For(_databaseName);
        // The login's ParameterStatus values come from any server that is up: the primary if there is one.
        var server = _runtime.Health.Select(databaseConfig, RouteKind.Write).Server
            ?? _runtime.Health.Select(databaseConfig, RouteKind.Read).Server
            ?? databaseConfig.Servers.FirstOrDefault(s => s.Role != ServerRole.Replica) ?? databaseConfig.Servers[0];
        _pool = _runtime.Pools.GetPool(config, databaseConfig, user, server);
        _policy = SessionPolicy.AtLogin(config, _pool.Settings.Mode, user);

        IReadOnlyDictionary<string, string> serverParameters;
        try
        {
            serverParameters = await _pool.GetServerParametersAsync(_closing.Token);
        }
        catch (ServerConnectException ex)
        {
            _closeReason = "server unavailable";
            return await RefuseAsync(ex.ServerError is { } fields ? fields.SqlState : SqlState.ConnectionFailure,
                ex.ServerError?.Message ?? ex.Message);
        }
        catch (PoolTimeoutException ex)
        {
            _closeReason = "pool wait timeout";
            return await RefuseAsync(SqlState.TooManyConnections, ex.Message);
        }

        _parameters.Initialize(serverParameters, startup.Parameters);
        (_cancelProcessId, var secretKey) = _runtime.CancelKeys.Register(this);

        var output = _client.Output;
        MessageWriter.WriteAuthenticationOk(output);
        foreach (var (name, value) in serverParameters)
        {
            MessageWriter.WriteParameterStatus(output, name, _parameters.TryGet(name, out var own) ? own! : value);
        }

        MessageWriter.WriteBackendKeyData(output, _cancelProcessId, secretKey);
        MessageWriter.WriteReadyForQuery(output, TransactionStatus.Idle);
        await output.FlushAsync(_closing.Token);

        // The idle clock starts at login, so client_idle_timeout also closes a client that never sends a query.
        _lastActivity = Stopwatch.GetTimestamp();
        _runtime.Sessions.TryAdd(this, 0);
        if (_runtime.IsDraining)
        {
            RequestShutdown();
        }

        return true;
    }

    /// <summary>Reads the startup packet, answering SSLRequest/GSSENCRequest on the way; null when the client left.</summary>
    private async Task<StartupPacket?> ReadStartupAsync(CancellationToken cancellationToken)
    {
        var input = _client.Input;
        var encryptionRequests = 0;
        while (true)
        {
            var result = await input.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            var status = StartupPacketReader.TryRead(ref buffer, StartupPacketReader.DefaultMaxLength, out var packet, out var error);
            if (status == ReadStatus.Invalid)
            {
                input.AdvanceTo(result.Buffer.Start);
                throw new ProtocolViolationException(error ?? "invalid startup packet");
            }

            if (status == ReadStatus.NeedMoreData)
            {
                input.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted)
                {
                    return null;
                }

                continue;
            }

            // Nothing may follow an SSLRequest before the answer (CVE-2021-23222): bytes already buffered are refused.
            if (packet!.Kind is StartupPacketKind.SslRequest or StartupPacketKind.GssEncRequest && buffer.Length > 0)
            {
                input.AdvanceTo(buffer.Start);
                throw new ProtocolViolationException("unexpected data after an encryption request");
            }

            input.AdvanceTo(buffer.Start);
            if (packet.Kind is not (StartupPacketKind.SslRequest or StartupPacketKind.GssEncRequest))
            {
                return packet;
            }

            // libpq asks at most twice (GSSENCRequest, then SSLRequest), and never again inside TLS.
            if (++encryptionRequests > 2 || _tls is not null)
            {
                throw new ProtocolViolationException("unexpected encryption request");
            }

            if (packet.Kind == StartupPacketKind.SslRequest && _runtime.Security.ClientTls is not null)
            {
                _tls = await _runtime.Security.AcceptTlsAsync(_client, cancellationToken);
                if (_tls is null)
                {
                    _closeReason = "TLS handshake failed";
                    return null;
                }

                input = _client.Input;
                continue;
            }

            MessageWriter.WriteSingleByte(_client.Output, (byte)'N');
            await _client.Output.FlushAsync(cancellationToken);
        }
    }

    /// <summary>Sends a FATAL error and ends the session (false, for the login path's convenience).</summary>
    private async Task<bool> RefuseAsync(string sqlState, string message, RejectionReason? reason = null)
    {
        if (reason is { } rejected)
        {
            _runtime.Metrics.ConnectionRejected(rejected);
        }

        if (_closeReason == "client closed the connection")
        {
            _closeReason = message;
        }

        await TryFailClientAsync(sqlState, message);
        return false;
    }

    private async Task TryFailClientAsync(string sqlState, string message, string severity = "FATAL")
    {
        try
        {
            // The text may quote what a peer sent; a NUL cannot travel in an error field.
            MessageWriter.WriteErrorResponse(_client.Output, severity, sqlState, message.Replace('\0', '?'));
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _client.Output.FlushAsync(timeout.Token);
        }
        catch (Exception ex) when (IsConnectionFailure(ex) || ex is OperationCanceledException or InvalidOperationException)
        {
        }
    }

    private async Task CloseAsync()
    {
        CancelClosing();
        _runtime.Sessions.TryRemove(this, out _);
        try
        {
            // The pump stops first: until then it may be writing to this client. The client is told why it is closed
            // before the server is cleaned, which can take a while (a cancel, a drain, a rollback).
            var stopped = await StopPumpAsync();
            if (_closeError is { } closeError && stopped?.FromServer.InFrame != true)
            {
                await TryFailClientAsync(closeError.SqlState, closeError.Message);
            }
            else if (_shutdownRequested && _user is not null)
            {
                _closeReason = "proxy shutting down";
                await TellShutdownAsync();
            }

            await ReturnServerAsync();
        }
        finally
        {
            if (_cancelProcessId != 0)
            {
                _runtime.CancelKeys.Unregister(_cancelProcessId);
            }

            if (_countedUser)
            {
                _runtime.RemoveUserClient(_userName);
            }

            if (_countedDatabase)
            {
                _runtime.Limits.LeaveDatabase(_databaseName);
            }

            if (_countedClient)
            {
                _runtime.RemoveClient();
            }

            if (_user is not null)
            {
                LogDisconnected(_logger, _userName, _databaseName, RemoteAddress, ConnectedFor.TotalSeconds, _closeReason);
            }

            await _client.DisposeAsync();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "client connected: user={User} database={Database} address={Address} mode={Mode}")]
    private static partial void LogConnected(ILogger logger, string user, string database, string address, PoolMode mode);

    [LoggerMessage(Level = LogLevel.Information, Message = "client disconnected: user={User} database={Database} address={Address} duration={Seconds:0.000}s reason={Reason}")]
    private static partial void LogDisconnected(ILogger logger, string user, string database, string address, double seconds, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "authentication failed: user={User} address={Address}")]
    private static partial void LogAuthenticationFailed(ILogger logger, string user, string address);

    [LoggerMessage(Level = LogLevel.Error, Message = "session of {Address} failed")]
    private static partial void LogSessionFailed(ILogger logger, string address, Exception exception);
}
