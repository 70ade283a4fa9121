using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Sluice.Proxy.Configuration;

/// <summary>A "host:port" listen address as proxy.toml writes it; IPv6 hosts in brackets ("[::1]:6432").</summary>
public readonly record struct ListenAddress(string Host, int Port)
{
    /// <summary>Port 0 is accepted: the system picks a free port (useful in tests).</summary>
    public static bool TryParse(string text, out ListenAddress address, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        address = default;
        string host;
        string port;
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0 || close + 1 >= text.Length || text[close + 1] != ':')
            {
                error = "expected [ipv6]:port, e.g. \"[::1]:6432\"";
                return false;
            }

            host = text[1..close];
            port = text[(close + 2)..];
            if (!IPAddress.TryParse(host, out var ip) || ip.AddressFamily != AddressFamily.InterNetworkV6)
            {
                error = $"'{host}' is not an IPv6 address";
                return false;
            }
        }
        else
        {
            var colon = text.LastIndexOf(':');
            if (colon < 0)
            {
                error = "expected host:port, e.g. \"127.0.0.1:6432\"";
                return false;
            }

            host = text[..colon];
            port = text[(colon + 1)..];
            if (host.Contains(':', StringComparison.Ordinal))
            {
                error = "an IPv6 address needs brackets, e.g. \"[::1]:6432\"";
                return false;
            }

            if (!IsValidHost(host, out error))
            {
                return false;
            }
        }

        if (port.Length is 0 or > 5 || !port.All(char.IsAsciiDigit) || int.Parse(port, CultureInfo.InvariantCulture) > 65535)
        {
            error = $"'{port}' is not a port number (0-65535)";
            return false;
        }

        address = new ListenAddress(host, int.Parse(port, CultureInfo.InvariantCulture));
        error = null;
        return true;
    }

    /// <summary>An IP address (IPv6 without brackets) or a DNS host name.</summary>
    public static bool IsValidHost(string host, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(host);
        if (host.Length == 0)
        {
            error = "the host is empty";
            return false;
        }

        if (host.Contains(':', StringComparison.Ordinal))
        {
            error = IPAddress.TryParse(host, out var ip) && ip.AddressFamily == AddressFamily.InterNetworkV6 ? null : $"'{host}' is not an IPv6 address";
            return error is null;
        }

        // IPAddress.TryParse also takes shorthand like "10.1" or "1"; a dotted-decimal host must be all four parts.
        if (host.All(c => char.IsAsciiDigit(c) || c == '.'))
        {
            var parts = host.Split('.');
            var valid = parts.Length == 4 && parts.All(part => part.Length is > 0 and <= 3 && int.Parse(part, CultureInfo.InvariantCulture) <= 255);
            error = valid ? null : $"'{host}' is not an IPv4 address";
            return valid;
        }

        var labels = host.Split('.');
        foreach (var label in labels)
        {
            if (label.Length is 0 or > 63 || label[0] == '-' || label[^1] == '-' || !label.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
            {
                error = $"'{host}' is not a valid host name or IP address";
                return false;
            }
        }

        error = null;
        return true;
    }

    public override string ToString() =>
        Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}
