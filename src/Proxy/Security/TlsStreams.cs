using System.Net.Security;
using Sluice.Proxy.Transport;

namespace Sluice.Proxy.Security;

internal static class TlsStreams
{
    /// <summary>
    /// Puts an authenticated TLS stream under the connection's pipes and lets go of the plaintext ones (their buffers
    /// go back to the pool; the socket stays, since the TLS stream reads from it).
    /// </summary>
    public static async ValueTask SwitchToAsync(DuplexConnection connection, SslStream ssl)
    {
        var plaintextInput = connection.Input;
        var plaintextOutput = connection.Output;
        connection.ReplaceStream(ssl);
        await plaintextInput.CompleteAsync();
        await plaintextOutput.CompleteAsync();
    }
}
