using Sluice.Proxy.Configuration;

namespace Sluice.Proxy.Tests.Configuration;

public sealed class ConfigValuesTests
{
    [Theory]
    [InlineData("0", 0)]
    [InlineData("0s", 0)]
    [InlineData("0ms", 0)]
    [InlineData("250ms", 250)]
    [InlineData("1s", 1_000)]
    [InlineData("30s", 30_000)]
    [InlineData("5m", 300_000)]
    [InlineData("1h", 3_600_000)]
    [InlineData("2h30m", 9_000_000)]
    [InlineData("1m30s", 90_000)]
    [InlineData("1h1m1s1ms", 3_661_001)]
    [InlineData("1500ms", 1_500)]
    [InlineData("90m", 5_400_000)]
    [InlineData("596h", 2_145_600_000)]
    public void Durations_parse(string text, long milliseconds)
    {
        Assert.True(ConfigDuration.TryParse(text, out var value));
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), value);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("30")]
    [InlineData("s")]
    [InlineData("1.5s")]
    [InlineData("-1s")]
    [InlineData("+1s")]
    [InlineData(" 1s")]
    [InlineData("1s ")]
    [InlineData("1 s")]
    [InlineData("1S")]
    [InlineData("1d")]
    [InlineData("1us")]
    [InlineData("1sec")]
    [InlineData("30s5m")]
    [InlineData("1s1s")]
    [InlineData("1m1h")]
    [InlineData("00")]
    [InlineData("597h")]
    [InlineData("99999999999999999999s")]
    public void Bad_durations_are_refused(string? text)
    {
        Assert.False(ConfigDuration.TryParse(text, out _));
    }

    [Theory]
    [InlineData(0, "0")]
    [InlineData(250, "250ms")]
    [InlineData(30_000, "30s")]
    [InlineData(9_000_000, "2h30m")]
    [InlineData(3_661_001, "1h1m1s1ms")]
    public void Durations_format_back_to_what_they_parse_from(long milliseconds, string text)
    {
        Assert.Equal(text, ConfigDuration.Format(TimeSpan.FromMilliseconds(milliseconds)));
        Assert.True(ConfigDuration.TryParse(text, out var value));
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), value);
    }

    [Theory]
    [InlineData("127.0.0.1:6432", "127.0.0.1", 6432)]
    [InlineData("0.0.0.0:0", "0.0.0.0", 0)]
    [InlineData("localhost:65535", "localhost", 65535)]
    [InlineData("[::1]:6432", "::1", 6432)]
    [InlineData("[::]:5432", "::", 5432)]
    [InlineData("[fe80::1%1]:5432", "fe80::1%1", 5432)]
    public void Listen_addresses_parse(string text, string host, int port)
    {
        Assert.True(ListenAddress.TryParse(text, out var address, out var error), error);
        Assert.Equal(new ListenAddress(host, port), address);
        Assert.Equal(text, address.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("6432")]
    [InlineData("127.0.0.1")]
    [InlineData("127.0.0.1:")]
    [InlineData("::1:6432")]
    [InlineData("[::1]6432")]
    [InlineData("[::1]")]
    [InlineData("[nope]:6432")]
    [InlineData("-host:6432")]
    [InlineData("host_name:6432")]
    [InlineData("a..b:6432")]
    [InlineData("256.0.0.1:6432")]
    [InlineData("127.0.0.1:123456")]
    public void Bad_listen_addresses_are_refused_with_a_reason(string text)
    {
        Assert.False(ListenAddress.TryParse(text, out _, out var error));
        Assert.False(string.IsNullOrWhiteSpace(error));
    }

    [Fact]
    public void Enum_names_parse_and_format_both_ways()
    {
        foreach (var mode in Enum.GetValues<PoolMode>())
        {
            Assert.True(ConfigNames.PoolMode.TryParse(ConfigNames.PoolMode.Format(mode), out var parsed));
            Assert.Equal(mode, parsed);
        }

        Assert.Equal("scram-sha-256", ConfigNames.AuthMethod.Format(AuthMethod.ScramSha256));
        Assert.Equal("verify-full", ConfigNames.ServerTlsMode.Format(ServerTlsMode.VerifyFull));
        Assert.Equal("least_outstanding", ConfigNames.LoadBalancing.Format(LoadBalancing.LeastOutstanding));
        Assert.False(ConfigNames.TlsMode.TryParse("Disable", out _));
        Assert.Equal("primary, replica, auto", ConfigNames.ServerRole.Allowed);
    }
}
