using System.Security.Authentication;

namespace Sluice.Proxy.Security;

/// <summary>What a client's TLS session turned out to be, and the channel binding data its SCRAM exchange may bind to.</summary>
internal sealed record ClientTlsSession(SslProtocols Protocol, string CipherSuite, byte[]? ChannelBinding)
{
    /// <summary>"TLSv1.3" style, as PostgreSQL's pg_stat_ssl and psql's \conninfo print it.</summary>
    public string ProtocolName => Protocol switch
    {
        SslProtocols.Tls13 => "TLSv1.3",
        SslProtocols.Tls12 => "TLSv1.2",
        _ => Protocol.ToString(),
    };
}
