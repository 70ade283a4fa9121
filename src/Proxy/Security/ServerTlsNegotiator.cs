using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Sluice.Protocol;
using Sluice.Protocol.Messages;
using Sluice.Proxy.Configuration;
using Sluice.Proxy.Servers;
using Sluice.Proxy.Transport;

namespace Sluice.Proxy.Security;

/// <summary>
/// The client side of PostgreSQL's in-band TLS negotiation, towards a server: SSLRequest, then on 'S' a TLS handshake
/// whose stream replaces the socket's under the connection's pipes. What counts as acceptable follows libpq's
/// sslmode of the same name.
/// </summary>
internal static class ServerTlsNegotiator
{
    /// <summary>
    /// Negotiates TLS on a fresh connection, before its first message. Returns true when the connection is now
    /// encrypted, false when it stays plaintext (disable, or prefer and the server said 'N'). Throws
    /// <see cref="ServerConnectException"/> when the mode's demand cannot be met (with the reason: no TLS on the server,
    /// an untrusted certificate, a wrong host name) and <see cref="ProtocolViolationException"/> for an answer that is
    /// not the protocol.
    /// </summary>
    public static async Task<bool> NegotiateAsync(DuplexConnection connection, ServerTlsOptions options, ServerLoginTarget target, CancellationToken cancellationToken)
    {
        if (options.Mode == ServerTlsMode.Disable)
        {
            return false;
        }

        MessageWriter.WriteSslRequest(connection.Output);
        await connection.Output.FlushAsync(cancellationToken);
        var answer = await ReadAnswerAsync(connection, target, cancellationToken);
        switch (answer)
        {
            case (byte)'S':
                await HandshakeAsync(connection, options, target, cancellationToken);
                return true;
            case (byte)'N' when options.Mode == ServerTlsMode.Prefer:
                return false;
            case (byte)'N':
                throw new ServerConnectException(
                    $"server {target.ServerName} does not accept TLS connections (ssl = off), but tls.server_mode = \"{ConfigNames.ServerTlsMode.Format(options.Mode)}\" requires TLS");
            default:
                throw new ProtocolViolationException($"unexpected answer 0x{answer:X2} to SSLRequest");
        }
    }

    private static async Task<byte> ReadAnswerAsync(DuplexConnection connection, ServerLoginTarget target, CancellationToken cancellationToken)
    {
        var input = connection.Input;
        while (true)
        {
            var result = await input.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            if (buffer.IsEmpty)
            {
                input.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted)
                {
                    throw new EndOfStreamException("the server closed the connection after SSLRequest");
                }

                continue;
            }

            var answer = buffer.FirstSpan[0];
            if (answer == (byte)'E')
            {
                // Servers that cannot even start a backend (too many connections, shutting down) answer with an
                // ErrorResponse instead of a single byte.
                input.AdvanceTo(buffer.Start);
                var frame = await ControlFrame.ReadAsync(input, 64 * 1024, cancellationToken);
                var error = ServerErrorCheck.Validate(BackendMessageReader.ReadErrorFields(frame.PayloadSequence));
                throw new ServerConnectException($"server {target.ServerName} refused the TLS request: {error.Message}", error);
            }

            if (answer == (byte)'S' && buffer.Length > 1)
            {
                // Bytes after 'S' and before the handshake were not encrypted, yet would be read as if they came through
                // TLS: someone in between injected them (CVE-2021-23222).
                input.AdvanceTo(buffer.Start);
                throw new ProtocolViolationException("the server sent unencrypted data after accepting TLS");
            }

            input.AdvanceTo(buffer.GetPosition(1));
            return answer;
        }
    }

    private static async Task HandshakeAsync(DuplexConnection connection, ServerTlsOptions options, ServerLoginTarget target, CancellationToken cancellationToken)
    {
        var verify = options.Mode == ServerTlsMode.VerifyFull;
        var sslOptions = new SslClientAuthenticationOptions
        {
            TargetHost = target.Host,
            EnabledSslProtocols = ClientTlsContext.Protocols,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            AllowRenegotiation = false,
            CertificateChainPolicy = verify ? options.CreateChainPolicy() : null,
            // require/prefer: encryption against eavesdropping only, as libpq's sslmode=require. verify-full: the default
            // validation, which checks the chain against the trust store and the host name against the certificate.
            RemoteCertificateValidationCallback = verify ? null : static (_, _, _, _) => true,
        };

        var ssl = new SslStream(connection.Stream, leaveInnerStreamOpen: false);
        try
        {
            await ssl.AuthenticateAsClientAsync(sslOptions, cancellationToken);
        }
        catch (Exception ex) when (ex is AuthenticationException or IOException)
        {
            await ssl.DisposeAsync();
            throw new ServerConnectException($"TLS handshake with server {target.ServerName} failed: {Describe(ex)}", ex);
        }
        catch
        {
            await ssl.DisposeAsync();
            throw;
        }

        await TlsStreams.SwitchToAsync(connection, ssl);
    }

    private static string Describe(Exception ex) => ex.InnerException is { } inner && inner.Message != ex.Message
        ? $"{ex.Message} ({inner.Message})"
        : ex.Message;
}
