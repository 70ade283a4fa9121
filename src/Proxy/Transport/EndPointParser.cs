using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;

namespace Sluice.Proxy.Transport;

/// <summary>"127.0.0.1:6432", "[::1]:6432", "0.0.0.0:6432", "*:6432", "localhost:6432".</summary>
internal static class EndPointParser
{
    public static bool TryParse(string text, [NotNullWhen(true)] out IPEndPoint? endPoint)
    {
        endPoint = null;
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > 65535)
        {
            return false;
        }

        var host = text[..colon];
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }

        IPAddress? address = host switch
        {
            "*" => IPAddress.IPv6Any,
            "localhost" => IPAddress.Loopback,
            _ => IPAddress.TryParse(host, out var parsed) ? parsed : null,
        };
        if (address is null)
        {
            return false;
        }

        endPoint = new IPEndPoint(address, port);
        return true;
    }

    public static IPEndPoint Parse(string text) =>
        TryParse(text, out var endPoint) ? endPoint : throw new FormatException($"invalid listen address '{text}' (expected host:port)");
}
