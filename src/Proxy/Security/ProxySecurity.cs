using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using Microsoft.Extensions.Logging;
using Sluice.Protocol.Messages;
using Sluice.Proxy.Configuration;
using Sluice.Proxy.Transport;

namespace Sluice.Proxy.Security;

/// <summary>
/// What the login path asks about security: is this address allowed, is there a certificate to answer SSLRequest
/// with, how long to hold back the answer to a failed login. The config-derived parts (certificate, allowlist,
/// server TLS options) are loaded by <see cref="Apply"/> at startup and on every reload, and swapped in together;
/// the failure counts live as long as the process.
/// </summary>
internal sealed partial class ProxySecurity
{
    private readonly ILogger _logger;
    private volatile Snapshot _current = new(TlsMode.Disable, null, AddressAllowlist.Everyone);

    public ProxySecurity(ILogger logger, AuthFailureThrottle? throttle = null)
    {
        _logger = logger;
        Throttle = throttle ?? new AuthFailureThrottle();
    }

    public AuthFailureThrottle Throttle { get; }

    /// <summary>[tls] mode towards clients as last applied.</summary>
    public TlsMode ClientTlsMode => _current.Mode;

    /// <summary>The certificate clients are served; null when [tls] mode is "disable" (SSLRequest is answered 'N').</summary>
    public ClientTlsContext? ClientTls => _current.Tls;

    /// <summary>
    /// Loads what a config needs (certificate and key, server CA file, allowlist) and swaps it in. Throws
    /// <see cref="ConfigException"/> with a message naming the file and the problem, and then changes nothing: at
    /// startup the proxy does not start, on reload the previous config stays.
    /// </summary>
    public void Apply(ProxyConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var tls = config.Tls;
        var clientTls = tls.Mode == TlsMode.Disable ? null : ClientTlsContext.Load(tls.CertFile, tls.KeyFile);
        _ = ServerTlsOptions.For(tls);
        AddressAllowlist allowlist;
        try
        {
            allowlist = AddressAllowlist.Parse(config.Server.Allow);
        }
        catch (FormatException ex)
        {
            throw new ConfigException($"server.allow: {ex.Message}", ex);
        }

        if (clientTls is not null)
        {
            WarnAboutCertificate(clientTls);
        }

        _current = new Snapshot(tls.Mode, clientTls, allowlist);
    }

    /// <summary>False when [server] allow is set and the client's address is outside it.</summary>
    public bool Admits(IPEndPoint? remote) => _current.Allowlist.Admits(remote?.Address);

    /// <summary>
    /// Answers an SSLRequest with 'S' and runs the handshake; on success the connection's pipes run over TLS. Null
    /// when the handshake failed (the client is not worth an error message: it cannot read one). A certificate
    /// must be loaded (<see cref="ClientTls"/> not null).
    /// </summary>
    public async Task<ClientTlsSession?> AcceptTlsAsync(DuplexConnection client, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        var context = ClientTls ?? throw new InvalidOperationException("no TLS certificate is loaded");
        MessageWriter.WriteSingleByte(client.Output, (byte)'S');
        await client.Output.FlushAsync(cancellationToken);

        var ssl = new SslStream(client.Stream, leaveInnerStreamOpen: false);
        try
        {
            await ssl.AuthenticateAsServerAsync(context.CreateServerOptions(), cancellationToken);
        }
        catch (Exception ex) when (ex is AuthenticationException or IOException)
        {
            LogHandshakeFailed(_logger, client.RemoteEndPoint?.ToString() ?? "unknown", ex.Message);
            await ssl.DisposeAsync();
            return null;
        }
        catch
        {
            await ssl.DisposeAsync();
            throw;
        }

        await TlsStreams.SwitchToAsync(client, ssl);
        return new ClientTlsSession(ssl.SslProtocol, ssl.NegotiatedCipherSuite.ToString(), context.ChannelBinding);
    }

    /// <summary>Counts a failed login from the client's address and waits as long as the throttle says before the refusal goes out.</summary>
    public async Task DelayFailedLoginAsync(IPEndPoint? remote, CancellationToken cancellationToken)
    {
        var delay = Throttle.RecordFailure(remote?.Address);
        if (delay > TimeSpan.Zero)
        {
            LogFailureDelayed(_logger, remote?.Address.ToString() ?? "unknown", delay.TotalSeconds);
            await Task.Delay(delay, cancellationToken);
        }
    }

    /// <summary>The refusal text for a client outside [server] allow (PostgreSQL says "no pg_hba.conf entry" here).</summary>
    public static string NotAllowedMessage(IPEndPoint? remote) =>
        $"no server.allow entry for host \"{remote?.Address.ToString() ?? "unknown"}\": this address may not connect to the proxy";

    private void WarnAboutCertificate(ClientTlsContext context)
    {
        var now = DateTime.Now;
        if (context.Certificate.NotAfter < now || context.Certificate.NotBefore > now)
        {
            LogCertificateNotValidNow(_logger, context.CertFile, context.Certificate.NotBefore, context.Certificate.NotAfter);
        }

        if (!OperatingSystem.IsWindows()
            && (File.GetUnixFileMode(context.KeyFile) & (UnixFileMode.OtherRead | UnixFileMode.OtherWrite)) != 0)
        {
            LogKeyReadableByOthers(_logger, context.KeyFile);
        }

        if (context.ChannelBinding is null)
        {
            LogNoChannelBinding(_logger, context.CertFile, context.Certificate.SignatureAlgorithm.FriendlyName ?? context.Certificate.SignatureAlgorithm.Value ?? "unknown");
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "TLS handshake with client {Address} failed: {Reason}")]
    private static partial void LogHandshakeFailed(ILogger logger, string address, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "repeated authentication failures from {Address}: answering this one after {Seconds:0.0}s")]
    private static partial void LogFailureDelayed(ILogger logger, string address, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "tls.cert_file {Path} is not valid now (valid from {NotBefore:u} to {NotAfter:u}): clients that verify it will refuse to connect")]
    private static partial void LogCertificateNotValidNow(ILogger logger, string path, DateTime notBefore, DateTime notAfter);

    [LoggerMessage(Level = LogLevel.Warning, Message = "tls.key_file {Path} can be read by other users of this machine; chmod 600 it")]
    private static partial void LogKeyReadableByOthers(ILogger logger, string path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "tls.cert_file {Path} is signed with {Algorithm}, which allows no tls-server-end-point channel binding: SCRAM-SHA-256-PLUS is not offered")]
    private static partial void LogNoChannelBinding(ILogger logger, string path, string algorithm);

    private sealed record Snapshot(TlsMode Mode, ClientTlsContext? Tls, AddressAllowlist Allowlist);
}
