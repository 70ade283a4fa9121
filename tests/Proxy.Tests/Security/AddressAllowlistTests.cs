using System.Net;
using Sluice.Proxy.Security;

namespace Sluice.Proxy.Tests.Security;

public sealed class AddressAllowlistTests
{
    [Fact]
    public void Empty_list_admits_everyone_even_an_unknown_address()
    {
        var allowlist = AddressAllowlist.Parse([]);

        Assert.True(allowlist.Admits(IPAddress.Parse("203.0.113.9")));
        Assert.True(allowlist.Admits(null));
    }

    [Theory]
    [InlineData("10.0.0.0/8", "10.200.3.4", true)]
    [InlineData("10.0.0.0/8", "127.0.0.1", false)]
    [InlineData("10.0.0.0/8", "11.0.0.1", false)]
    [InlineData("127.0.0.0/8", "127.0.0.1", true)]
    [InlineData("192.168.1.0/24", "192.168.1.255", true)]
    [InlineData("192.168.1.0/24", "192.168.2.1", false)]
    [InlineData("10.1.2.3/32", "10.1.2.3", true)]
    [InlineData("10.1.2.3/32", "10.1.2.4", false)]
    [InlineData("0.0.0.0/0", "8.8.8.8", true)]
    [InlineData("::1/128", "::1", true)]
    [InlineData("2001:db8::/32", "2001:db8:1::5", true)]
    [InlineData("2001:db8::/32", "2001:db9::5", false)]
    public void Address_is_admitted_only_inside_a_block(string block, string address, bool admitted)
    {
        var allowlist = AddressAllowlist.Parse([block]);

        Assert.Equal(admitted, allowlist.Admits(IPAddress.Parse(address)));
    }

    [Fact]
    public void Ipv4_client_on_a_dual_stack_listener_matches_its_ipv4_block()
    {
        var allowlist = AddressAllowlist.Parse(["10.0.0.0/8"]);

        Assert.True(allowlist.Admits(IPAddress.Parse("10.1.2.3").MapToIPv6()));
        Assert.False(allowlist.Admits(IPAddress.Parse("127.0.0.1").MapToIPv6()));
    }

    [Fact]
    public void Ipv4_block_does_not_match_ipv6_addresses_and_unknown_address_is_refused()
    {
        var allowlist = AddressAllowlist.Parse(["0.0.0.0/0"]);

        Assert.False(allowlist.Admits(IPAddress.IPv6Loopback));
        Assert.False(allowlist.Admits(null));
    }

    [Fact]
    public void Any_of_several_blocks_admits()
    {
        var allowlist = AddressAllowlist.Parse(["10.0.0.0/8", "172.16.0.0/12", "::1/128"]);

        Assert.True(allowlist.Admits(IPAddress.Parse("172.31.255.1")));
        Assert.True(allowlist.Admits(IPAddress.IPv6Loopback));
        Assert.False(allowlist.Admits(IPAddress.Parse("172.32.0.1")));
    }

    [Fact]
    public void Group_key_is_the_ipv4_address_or_the_ipv6_64_prefix()
    {
        Assert.Equal(IPAddress.Parse("10.1.2.3"), AddressAllowlist.GroupKey(IPAddress.Parse("10.1.2.3").MapToIPv6()));
        Assert.Equal(IPAddress.Parse("2001:db8:1:2::"), AddressAllowlist.GroupKey(IPAddress.Parse("2001:db8:1:2:aaaa:bbbb:cccc:dddd")));
    }
}
