using Sluice.Routing.Topology;

namespace Sluice.Routing.Tests.Topology;

public sealed class LsnTests
{
    [Theory]
    [InlineData("0/0", 0UL)]
    [InlineData("0/3000060", 0x3000060UL)]
    [InlineData("16/B374D848", 0x16_B374_D848UL)]
    [InlineData("FFFFFFFF/FFFFFFFF", ulong.MaxValue)]
    [InlineData("a/ff", 0xA_0000_00FFUL)]
    public void Parses_postgres_spelling(string text, ulong value)
    {
        Assert.True(Lsn.TryParse(text, out var lsn));
        Assert.Equal(value, lsn.Value);
    }

    [Theory]
    [InlineData("")]
    [InlineData("/")]
    [InlineData("1/")]
    [InlineData("/1")]
    [InlineData("12")]
    [InlineData("G/1")]
    [InlineData("1/2/3")]
    [InlineData("100000000/0")]
    [InlineData(" 1/2")]
    [InlineData("-1/2")]
    public void Rejects_what_is_not_an_lsn(string text)
    {
        Assert.False(Lsn.TryParse(text, out _));
        Assert.Throws<FormatException>(() => Lsn.Parse(text));
    }

    [Theory]
    [InlineData("0/0")]
    [InlineData("0/3000060")]
    [InlineData("16/B374D848")]
    [InlineData("FFFFFFFF/FFFFFFFF")]
    public void Prints_as_postgres_does(string text) => Assert.Equal(text, Lsn.Parse(text).ToString());

    [Theory]
    [InlineData("1/0", "0/FFFFFFFF", 1L)]
    [InlineData("0/FFFFFFFF", "1/0", -1L)]
    [InlineData("16/B374D848", "16/B374D848", 0L)]
    [InlineData("2/100", "1/0", 0x1_0000_0100L)]
    [InlineData("FFFFFFFF/FFFFFFFF", "0/0", long.MaxValue)]
    public void Difference_is_bytes_like_pg_wal_lsn_diff(string to, string from, long bytes) =>
        Assert.Equal(bytes, Lsn.Parse(to) - Lsn.Parse(from));

    [Fact]
    public void Orders_by_position_across_the_halves()
    {
        var positions = new[] { "1/0", "0/FFFFFFFF", "0/10", "A/0" }.Select(Lsn.Parse).Order().Select(l => l.ToString());

        Assert.Equal(["0/10", "0/FFFFFFFF", "1/0", "A/0"], positions);
        Assert.True(Lsn.Parse("1/0") > Lsn.Parse("0/FFFFFFFF"));
        Assert.True(Lsn.Parse("0/10") <= Lsn.Parse("0/10"));
    }
}
