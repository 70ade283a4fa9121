using System.Text;

namespace Sluice.Protocol.Internal;

/// <summary>The UTF-8 encodings the protocol code uses.</summary>
internal static class ProtocolEncoding
{
    /// <summary>
    /// Throws on invalid bytes. Used where a wrong byte must not silently turn into another string: startup
    /// parameters (user, database), passwords, SASL mechanism names and messages.
    /// </summary>
    public static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// Replaces invalid bytes with U+FFFD. Used for text the proxy only inspects (SQL, statement names, server
    /// messages): a client whose client_encoding is not UTF-8 must not be cut off because the proxy peeked.
    /// </summary>
    public static readonly UTF8Encoding Relaxed = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);
}
