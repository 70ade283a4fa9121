using System.Diagnostics;
using System.Net.Sockets;
using Sluice.Protocol;
using Sluice.Protocol.Authentication;
using Sluice.Protocol.Framing;
using Sluice.Protocol.Messages;
using Sluice.Proxy.Statements;
using Sluice.Proxy.Security;
using Sluice.Proxy.Transport;

namespace Sluice.Proxy.Servers;

/// <summary>Opens the byte stream to a server (TCP in the proxy; an in-memory pair in relay tests).</summary>
internal delegate ValueTask<DuplexConnection> ServerConnectionOpener(ServerLoginTarget target, CancellationToken cancellationToken);

/// <summary>
/// One logged-in connection to a PostgreSQL server. It knows the server's backend key (for cancels), the
/// parameters the server reported and the session settings the proxy put on it, so a client can be lent a
/// connection whose session looks like its own.
/// </summary>
internal sealed class ServerConnection : IAsyncDisposable
{
    private const int MaxControlMessageLength = 1024 * 1024;

    /// <summary>PostgreSQL's login sends about twenty messages; a server that sends this many is not PostgreSQL.</summary>
    private const int MaxLoginMessages = 10_000;

    private static long s_nextId;

    private ServerConnection(DuplexConnection connection, ServerLoginTarget target)
    {
        Connection = connection;
        Target = target;
        Id = Interlocked.Increment(ref s_nextId);
        CreatedAt = Stopwatch.GetTimestamp();
        LastUsedAt = CreatedAt;
    }

    public long Id { get; }

    public DuplexConnection Connection { get; }

    public ServerLoginTarget Target { get; }

    public int ProcessId { get; private set; }

    public int SecretKey { get; private set; }

    /// <summary>Values the server reported with ParameterStatus, kept current as more arrive.</summary>
    public Dictionary<string, string> ReportedParameters { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Session settings the server does not report (search_path, …) as last SET on it by the proxy or a client.</summary>
    public Dictionary<string, string> UnreportedSettings { get; } = new(StringComparer.OrdinalIgnoreCase);

    public TransactionStatus TransactionStatus { get; set; } = TransactionStatus.Idle;

    /// <summary>The shared statements prepared on this connection (transaction mode renames them).</summary>
    public ServerStatementSet Statements { get; } = new();

    /// <summary>Set once the connection cannot be trusted any more; it is then closed instead of pooled.</summary>
    public bool IsBroken { get; private set; }

    public long CreatedAt { get; }

    public long LastUsedAt { get; set; }

    /// <summary>The pool that lends this connection; whoever is done with it gives it back there.</summary>
    public Pooling.ServerPool? Pool { get; set; }

    /// <summary>How TLS was negotiated for this connection (and is for its cancel requests).</summary>
    public ServerTlsOptions Tls { get; private init; } = ServerTlsOptions.Disabled;

    /// <summary>True when the connection runs over TLS.</summary>
    public bool IsEncrypted { get; private set; }

    public void MarkBroken() => IsBroken = true;

    public static Task<ServerConnection> ConnectAsync(ServerLoginTarget target, TimeSpan timeout, CancellationToken cancellationToken) =>
        ConnectAsync(target, timeout, ServerTlsOptions.Disabled, null, cancellationToken);

    /// <summary>
    /// Opens a connection, negotiates TLS as <paramref name="tls"/> says ([tls] server_mode), and logs in. Everything
    /// the server may get wrong fails as <see cref="ServerConnectException"/>, within <paramref name="timeout"/>. The
    /// byte stream comes from <paramref name="open"/> when given (in-memory pairs in relay tests), otherwise over TCP.
    /// </summary>
    public static async Task<ServerConnection> ConnectAsync(ServerLoginTarget target, TimeSpan timeout, ServerTlsOptions tls, ServerConnectionOpener? open, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(tls);
        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (timeout > TimeSpan.Zero)
        {
            timeoutSource.CancelAfter(timeout);
        }

        DuplexConnection connection;
        try
        {
            connection = open is null
                ? await DuplexConnection.ConnectAsync(target.Host, target.Port, timeoutSource.Token)
                : await open(target, timeoutSource.Token);
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new ServerConnectException($"cannot connect to server {target.ServerName}: {Describe(ex)}", ex);
        }

        var server = new ServerConnection(connection, target) { Tls = tls };
        try
        {
            server.IsEncrypted = await ServerTlsNegotiator.NegotiateAsync(connection, tls, target, timeoutSource.Token);
            await server.LoginAsync(timeoutSource.Token);
            return server;
        }
        catch (Exception ex) when (ex is IOException or SocketException or EndOfStreamException or ProtocolViolationException
                                      or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            await server.DisposeAsync();
            throw new ServerConnectException($"login to server {target.ServerName} failed: {Describe(ex)}", ex);
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Runs a simple query the proxy itself needs (a reset, a SET, a ROLLBACK) and reads up to ReadyForQuery.
    /// Returns the first error, or null. The server must not be lent to anyone while this runs.
    /// </summary>
    public async Task<ErrorFields?> RunControlQueryAsync(string sql, CancellationToken cancellationToken)
    {
        MessageWriter.WriteQuery(Connection.Output, sql);
        await Connection.Output.FlushAsync(cancellationToken);
        return await ReadUntilReadyAsync(cancellationToken);
    }

    /// <summary>Reads and drops replies up to ReadyForQuery, keeping parameters and the transaction status current.</summary>
    public async Task<ErrorFields?> ReadUntilReadyAsync(CancellationToken cancellationToken)
    {
        ErrorFields? error = null;
        while (true)
        {
            var frame = await ControlFrame.ReadAsync(Connection.Input, MaxControlMessageLength, cancellationToken);
            switch ((BackendMessageCode)frame.Code)
            {
                case BackendMessageCode.ReadyForQuery:
                    TransactionStatus = BackendMessageReader.ReadReadyForQuery(frame.PayloadSequence);
                    return error;
                case BackendMessageCode.ParameterStatus:
                    var (name, value) = BackendMessageReader.ReadParameterStatus(frame.PayloadSequence);
                    ReportedParameters[name] = value;
                    break;
                case BackendMessageCode.ErrorResponse:
                    var fields = BackendMessageReader.ReadErrorFields(frame.PayloadSequence);
                    error ??= fields;
                    if (fields.IsFatal)
                    {
                        MarkBroken();
                        throw new ServerConnectException($"server {Target.ServerName} closed the session: {fields.Message}", fields);
                    }

                    break;
            }
        }
    }

    /// <summary>
    /// Throws away what the server still sends for a client that left: the rest of the frame the client's pump left
    /// cut short (<paramref name="leftover"/>), then everything up to the <paramref name="readyCount"/>-th
    /// ReadyForQuery. Rows are skipped without being copied; a COPY FROM STDIN the client abandoned is failed so the
    /// server comes back.
    /// </summary>
    public async Task DrainAsync(FrameRelay leftover, int readyCount, CancellationToken cancellationToken)
    {
        var input = Connection.Input;
        var relay = leftover;
        relay.SkipRest();
        while (readyCount > 0)
        {
            var result = await input.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            while (readyCount > 0)
            {
                var status = relay.Next(ref buffer, null, out var header);
                if (status == ReadStatus.Invalid)
                {
                    MarkBroken();
                    throw new ProtocolViolationException($"invalid message length {header.Length} from server");
                }

                if (status == ReadStatus.NeedMoreData
                    || (header.Code == (byte)BackendMessageCode.ReadyForQuery && buffer.Length < header.FrameLength))
                {
                    break;
                }

                if (header.Code == (byte)BackendMessageCode.ReadyForQuery)
                {
                    TransactionStatus = BackendMessageReader.ReadReadyForQuery(buffer.Slice(FrameHeader.Size, header.PayloadLength));
                    readyCount--;
                }
                else if (header.Code == (byte)BackendMessageCode.CopyInResponse)
                {
                    MessageWriter.WriteCopyFail(Connection.Output, "client disconnected");
                    await Connection.Output.FlushAsync(cancellationToken);
                }

                relay.Skip(header.FrameLength);
            }

            // Whatever of the last frame is already here is consumed now; the rest is skipped on the next read.
            relay.Move(ref buffer, null);
            input.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted && readyCount > 0)
            {
                MarkBroken();
                throw new EndOfStreamException("the server closed the connection");
            }
        }
    }

    /// <summary>
    /// Asks the server to cancel what this connection runs, on a new connection as the protocol wants. Best effort:
    /// a cancel that cannot be delivered changes nothing.
    /// </summary>
    public async Task SendCancelAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var cancelConnection = await DuplexConnection.ConnectAsync(Target.Host, Target.Port, cancellationToken);
            // The cancel key is a secret of this session: it travels as encrypted as the session does.
            await ServerTlsNegotiator.NegotiateAsync(cancelConnection, Tls, Target, cancellationToken);
            MessageWriter.WriteCancelRequest(cancelConnection.Output, ProcessId, SecretKey);
            await cancelConnection.Output.FlushAsync(cancellationToken);
            // The server closes the connection once it has read the request; waiting for that keeps the order
            // "cancel delivered, then whatever the caller does next".
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            wait.CancelAfter(TimeSpan.FromSeconds(5));
            while (true)
            {
                var result = await cancelConnection.Input.ReadAsync(wait.Token);
                cancelConnection.Input.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted)
                {
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ServerConnectException or ProtocolViolationException)
        {
        }
    }

    /// <summary>Says goodbye (Terminate) when the connection is still sound, then closes it.</summary>
    public async ValueTask CloseAsync()
    {
        if (!IsBroken)
        {
            try
            {
                MessageWriter.WriteTerminate(Connection.Output);
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
                await Connection.Output.FlushAsync(timeout.Token);
            }
            catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or InvalidOperationException or ObjectDisposedException)
            {
            }
        }

        await DisposeAsync();
    }

    public ValueTask DisposeAsync()
    {
        IsBroken = true;
        return Connection.DisposeAsync();
    }

    private static string Describe(Exception ex) => ex switch
    {
        SocketException socket => socket.SocketErrorCode.ToString(),
        OperationCanceledException => "timed out",
        _ => ex.Message,
    };

    private async Task LoginAsync(CancellationToken cancellationToken)
    {
        var output = Connection.Output;
        MessageWriter.WriteStartupMessage(output,
        [
            new("user", Target.User),
            new("database", Target.Database),
        ]);
        await output.FlushAsync(cancellationToken);

        ScramClientExchange? scram = null;
        for (var messages = 0; ; messages++)
        {
            if (messages == MaxLoginMessages)
            {
                throw new ProtocolViolationException($"the server sent more than {MaxLoginMessages} messages without finishing the login");
            }

            var frame = await ControlFrame.ReadAsync(Connection.Input, MaxControlMessageLength, cancellationToken);
            switch ((BackendMessageCode)frame.Code)
            {
                case BackendMessageCode.Authentication:
                    var request = BackendMessageReader.ReadAuthentication(frame.PayloadSequence);
                    scram = await AnswerAuthenticationAsync(request, scram, cancellationToken);
                    break;
                case BackendMessageCode.ParameterStatus:
                    var (name, value) = BackendMessageReader.ReadParameterStatus(frame.PayloadSequence);
                    ReportedParameters[name] = value;
                    break;
                case BackendMessageCode.BackendKeyData:
                    (ProcessId, SecretKey) = BackendMessageReader.ReadBackendKeyData(frame.PayloadSequence);
                    break;
                case BackendMessageCode.ErrorResponse:
                    var error = ServerErrorCheck.Validate(BackendMessageReader.ReadErrorFields(frame.PayloadSequence));
                    throw new ServerConnectException($"server {Target.ServerName} refused the login: {error.Message}", error);
                case BackendMessageCode.ReadyForQuery:
                    TransactionStatus = BackendMessageReader.ReadReadyForQuery(frame.PayloadSequence);
                    return;
                case BackendMessageCode.NoticeResponse:
                case BackendMessageCode.NegotiateProtocolVersion:
                    break;
                default:
                    throw new ProtocolViolationException($"unexpected message {FrameHeader.Describe(frame.Code)} during login");
            }
        }
    }

    private async ValueTask<ScramClientExchange?> AnswerAuthenticationAsync(AuthenticationRequest request, ScramClientExchange? scram, CancellationToken cancellationToken)
    {
        var output = Connection.Output;
        switch (request.Type)
        {
            case AuthenticationRequestType.Ok:
                return scram;
            case AuthenticationRequestType.CleartextPassword:
                MessageWriter.WritePasswordMessage(output, RequirePassword());
                break;
            case AuthenticationRequestType.Md5Password:
                MessageWriter.WritePasswordMessage(output, Md5Password.ComputeResponse(Target.User, RequirePassword(), request.Data.Span));
                break;
            case AuthenticationRequestType.Sasl:
                if (!request.Mechanisms.Contains(ScramServerExchange.Mechanism))
                {
                    throw new ServerConnectException($"server {Target.ServerName} offers no supported SASL mechanism ({string.Join(", ", request.Mechanisms)})");
                }

                scram = Target.Scram is { } keys ? new ScramClientExchange(keys) : new ScramClientExchange(RequirePassword());
                MessageWriter.WriteSaslInitialResponse(output, ScramServerExchange.Mechanism, scram.CreateClientFirst());
                break;
            case AuthenticationRequestType.SaslContinue:
                if (scram is null)
                {
                    throw new ServerConnectException($"server {Target.ServerName} continued a SCRAM exchange that was never started");
                }

                // The password's 4096 PBKDF2 rounds run on the thread pool: this continuation may be on a socket
                // thread that serves every other connection meanwhile (docs/transport.md).
                var exchange = scram;
                var serverFirst = request.Data;
                var (clientFinal, error) = await Task.Run<(byte[]? Final, string? Error)>(
                    () => exchange.TryHandleServerFirst(serverFirst.Span, out var final, out var failure) ? (final, null) : (null, failure),
                    cancellationToken);
                if (clientFinal is null)
                {
                    throw new ServerConnectException($"SCRAM exchange with server {Target.ServerName} failed: {error}");
                }

                MessageWriter.WriteSaslResponse(output, clientFinal);
                break;
            case AuthenticationRequestType.SaslFinal:
                if (scram is null || !scram.VerifyServerFinal(request.Data.Span))
                {
                    throw new ServerConnectException($"server {Target.ServerName} failed to prove it knows the password (SCRAM server signature mismatch)");
                }

                return scram;
            default:
                throw new ServerConnectException($"server {Target.ServerName} asks for an unsupported authentication method ({request.Type})");
        }

        await output.FlushAsync(cancellationToken);
        return scram;
    }

    private string RequirePassword() =>
        Target.Password ?? throw new ServerConnectException(
            $"server {Target.ServerName} asks user '{Target.User}' for a password, but none is configured (set a plain password or server_password)");
}
