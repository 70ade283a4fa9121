using System.Net;
using System.Net.Sockets;

namespace Sluice.Proxy.Security;

/// <summary>
/// [server] allow: the CIDR blocks clients may connect from. Empty admits everyone. An IPv4 client seen through a
/// dual-stack listener (::ffff:10.1.2.3) is matched as the IPv4 address it is.
/// </summary>
internal sealed class AddressAllowlist
{
    private readonly IPNetwork[] _networks;

    private AddressAllowlist(IPNetwork[] networks)
    {
        _networks = networks;
    }

    public static AddressAllowlist Everyone { get; } = new([]);

    public bool AdmitsEveryone => _networks.Length == 0;

    /// <summary>Parses validated config entries ("10.0.0.0/8", "::1/128"); throws <see cref="FormatException"/> for anything else.</summary>
    public static AddressAllowlist Parse(IEnumerable<string> blocks)
    {
        ArgumentNullException.ThrowIfNull(blocks);
        var networks = blocks.Select(block => IPNetwork.Parse(block)).ToArray();
        return networks.Length == 0 ? Everyone : new AddressAllowlist(networks);
    }

    /// <summary>True when the address is inside one of the blocks, or the list is empty. An unknown address is refused by a non-empty list.</summary>
    public bool Admits(IPAddress? address)
    {
        if (_networks.Length == 0)
        {
            return true;
        }

        if (address is null)
        {
            return false;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        foreach (var network in _networks)
        {
            if (network.BaseAddress.AddressFamily == address.AddressFamily && network.Contains(address))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The key that groups addresses of one client: the address itself for IPv4, its /64 for IPv6 (what one host usually gets).</summary>
    public static IPAddress GroupKey(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6)
        {
            return address.MapToIPv4();
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address;
        }

        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return new IPAddress(bytes);
    }
}
