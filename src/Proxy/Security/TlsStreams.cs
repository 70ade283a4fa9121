using System.Net.Security;
using Sluice.Proxy.Transport;

namespace Sluice.Proxy.Security;

internal static class TlsStreams
{
    /// <summary>
    /// Puts an authenticated TLS stream under the connection's pipes. What happens to the plaintext pipes is the
    /// transport's business: stream pipes are let go (their buffers go back to the pool), while a transport whose
    /// socket loop feeds the TLS stream keeps its raw pipes running under it.
    /// </summary>
    public static ValueTask SwitchToAsync(DuplexConnection connection, SslStream ssl)
    {
        connection.ReplaceStream(ssl);
        return ValueTask.CompletedTask;
    }
}
