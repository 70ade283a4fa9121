using System.Buffers;
using Sluice.Protocol.Framing;
using Sluice.Protocol.Startup;
using Sluice.Protocol.Tests.Support;

namespace Sluice.Protocol.Tests;

public class StartupPacketReaderTests
{
    private const int Max = StartupPacketReader.DefaultMaxLength;

    private static readonly byte[] s_startup = new Bytes()
        .Int32(StartupPacket.ProtocolVersion30)
        .CString("user").CString("app")
        .CString("database").CString("shop")
        .CString("application_name").CString("café ✓")
        .Byte(0)
        .ToStartupPacket();

    [Fact]
    public void Reads_a_startup_message_wherever_it_is_split_and_consumes_exactly_it()
    {
        var trailing = new byte[] { (byte)'Q', 1, 2 };
        byte[] data = [.. s_startup, .. trailing];
        foreach (var split in Sequences.AllSplits(data, threeWayLimit: 0))
        {
            var buffer = split;
            var status = StartupPacketReader.TryRead(ref buffer, Max, out var packet, out var error);

            Assert.Equal(ReadStatus.Ok, status);
            Assert.Null(error);
            Assert.NotNull(packet);
            Assert.Equal(StartupPacketKind.Startup, packet.Kind);
            Assert.Equal(3, packet.MajorVersion);
            Assert.Equal(0, packet.MinorVersion);
            Assert.Equal(
                [new("user", "app"), new("database", "shop"), new("application_name", "café ✓")],
                packet.Parameters);
            Assert.Empty(packet.ProtocolOptions);
            Assert.Equal("shop", packet.GetParameter("database"));
            Assert.Equal(trailing, buffer.ToArray());
        }
    }

    [Fact]
    public void Reads_a_short_startup_message_split_in_three_anywhere()
    {
        var packet = new Bytes().Int32(StartupPacket.ProtocolVersion30).CString("user").CString("u").Byte(0).ToStartupPacket();
        foreach (var split in Sequences.AllSplits(packet))
        {
            var buffer = split;
            Assert.Equal(ReadStatus.Ok, StartupPacketReader.TryRead(ref buffer, Max, out var read, out _));
            Assert.Equal("u", read!.GetParameter("user"));
            Assert.True(buffer.IsEmpty);
        }
    }

    [Fact]
    public void Needs_more_data_for_every_prefix_and_consumes_nothing()
    {
        for (var available = 0; available < s_startup.Length; available++)
        {
            var prefix = s_startup[..available];
            foreach (var split in new[] { new ReadOnlySequence<byte>(prefix), Sequences.Split(prefix, available / 2) })
            {
                var buffer = split;
                var status = StartupPacketReader.TryRead(ref buffer, Max, out var packet, out var error);

                Assert.Equal(ReadStatus.NeedMoreData, status);
                Assert.Null(packet);
                Assert.Null(error);
                Assert.Equal(available, buffer.Length);
            }
        }
    }

    [Fact]
    public void Reads_an_ssl_request()
    {
        var data = new Bytes().Int32(8).Int32(80877103).ToArray();
        foreach (var split in Sequences.AllSplits(data))
        {
            var buffer = split;
            Assert.Equal(ReadStatus.Ok, StartupPacketReader.TryRead(ref buffer, Max, out var packet, out _));
            Assert.Equal(StartupPacketKind.SslRequest, packet!.Kind);
            Assert.True(buffer.IsEmpty);
        }
    }

    [Fact]
    public void Leaves_bytes_sent_after_an_ssl_request_for_the_caller_to_refuse()
    {
        var buffer = new ReadOnlySequence<byte>(new Bytes().Int32(8).Int32(80877103).Text("Q").ToArray());

        Assert.Equal(ReadStatus.Ok, StartupPacketReader.TryRead(ref buffer, Max, out _, out _));
        Assert.Equal(1, buffer.Length);
    }

    [Fact]
    public void Reads_a_gssenc_request()
    {
        var data = new Bytes().Int32(8).Int32(80877104).ToArray();
        foreach (var split in Sequences.AllSplits(data))
        {
            var buffer = split;
            Assert.Equal(ReadStatus.Ok, StartupPacketReader.TryRead(ref buffer, Max, out var packet, out _));
            Assert.Equal(StartupPacketKind.GssEncRequest, packet!.Kind);
        }
    }

    [Fact]
    public void Reads_a_cancel_request()
    {
        var data = new Bytes().Int32(16).Int32(80877102).Int32(4242).Int32(-123456789).ToArray();
        foreach (var split in Sequences.AllSplits(data))
        {
            var buffer = split;
            Assert.Equal(ReadStatus.Ok, StartupPacketReader.TryRead(ref buffer, Max, out var packet, out _));
            Assert.Equal(StartupPacketKind.CancelRequest, packet!.Kind);
            Assert.Equal(4242, packet.CancelProcessId);
            Assert.Equal(-123456789, packet.CancelSecretKey);
            Assert.True(buffer.IsEmpty);
        }
    }

    [Fact]
    public void Accepts_a_newer_minor_version_and_sets_protocol_options_apart()
    {
        var data = new Bytes()
            .Int32((3 << 16) | 2)
            .CString("user").CString("app")
            .CString("_pq_.test_option").CString("on")
            .CString("DateStyle").CString("ISO")
            .Byte(0)
            .ToStartupPacket();
        var buffer = new ReadOnlySequence<byte>(data);

        Assert.Equal(ReadStatus.Ok, StartupPacketReader.TryRead(ref buffer, Max, out var packet, out _));
        Assert.Equal(2, packet!.MinorVersion);
        Assert.Equal(["_pq_.test_option"], packet.ProtocolOptions);
        Assert.Equal([new("user", "app"), new("DateStyle", "ISO")], packet.Parameters);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    [InlineData(7)]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    [InlineData(Max + 1)]
    [InlineData(1 << 30)]
    [InlineData(int.MaxValue)]
    public void Rejects_a_bad_declared_length_without_waiting_for_the_bytes(int length)
    {
        // Only the length is there: a huge declared length is refused now, not after buffering it.
        var buffer = new ReadOnlySequence<byte>(new Bytes().Int32(length).ToArray());

        var status = StartupPacketReader.TryRead(ref buffer, Max, out var packet, out var error);

        Assert.Equal(ReadStatus.Invalid, status);
        Assert.Null(packet);
        Assert.Contains("invalid length of startup packet", error);
        Assert.Equal(4, buffer.Length);
    }

    [Fact]
    public void Honours_a_smaller_max_length()
    {
        var buffer = new ReadOnlySequence<byte>(s_startup);

        Assert.Equal(ReadStatus.Invalid, StartupPacketReader.TryRead(ref buffer, s_startup.Length - 1, out _, out var error));
        Assert.Contains($"must be between 8 and {s_startup.Length - 1}", error);
    }

    [Theory]
    [InlineData(2, 0, "unsupported frontend protocol 2.0")]
    [InlineData(4, 0, "unsupported frontend protocol 4.0")]
    [InlineData(1234, 5681, "unknown startup request code 1234.5681")]
    [InlineData(0, 0, "unsupported frontend protocol 0.0")]
    public void Rejects_unknown_codes_and_versions_as_soon_as_the_code_is_there(int major, int minor, string expected)
    {
        // Declares 100 bytes but sends only 8: the code alone is enough to refuse.
        var buffer = new ReadOnlySequence<byte>(new Bytes().Int32(100).Int32((major << 16) | minor).ToArray());

        Assert.Equal(ReadStatus.Invalid, StartupPacketReader.TryRead(ref buffer, Max, out _, out var error));
        Assert.Contains(expected, error);
    }

    [Theory]
    [InlineData(80877103, 12)]
    [InlineData(80877104, 9)]
    [InlineData(80877102, 12)]
    [InlineData(80877102, 20)]
    public void Rejects_special_requests_of_the_wrong_length(int code, int length)
    {
        var data = new Bytes().Int32(length).Int32(code).Raw(new byte[length - 8]).ToArray();
        var buffer = new ReadOnlySequence<byte>(data);

        Assert.Equal(ReadStatus.Invalid, StartupPacketReader.TryRead(ref buffer, Max, out _, out var error));
        Assert.Contains("invalid length of", error);
    }

    public static TheoryData<byte[], string> MalformedStartups => new()
    {
        { Startup(b => b), "missing the terminating zero byte" },
        { Startup(b => b.CString("user").CString("app")), "missing the terminating zero byte" },
        { Startup(b => b.CString("user").CString("app").Text("data")), "parameter name has no terminating zero byte" },
        { Startup(b => b.CString("user").Text("app")), "value of parameter \"user\" has no terminating zero byte" },
        { Startup(b => b.CString("user").CString("app").Byte(0).Byte(0)), "expected the terminating zero byte as the last byte" },
        { Startup(b => b.CString("user").CString("app").Byte(0).CString("x")), "expected the terminating zero byte as the last byte" },
        { Startup(b => b.Raw(0xC3, 0x28, 0).CString("x").CString("user").CString("app").Byte(0)), "parameter name is not valid UTF-8" },
        { Startup(b => b.CString("user").Raw(0xFF, 0xFE, 0).Byte(0)), "value of parameter \"user\" is not valid UTF-8" },
        { Startup(b => b.CString("user").Raw(0xED, 0xA0, 0x80, 0).Byte(0)), "not valid UTF-8" },
        { Startup(b => b.CString("database").CString("shop").Byte(0)), "no PostgreSQL user name" },
        { Startup(b => b.CString("user").CString("").Byte(0)), "no PostgreSQL user name" },
        { Startup(b => b.Byte(0)), "no PostgreSQL user name" },
        { Startup(b => b.CString("user").CString("a").CString("user").CString("b").Byte(0)), "parameter \"user\" is given more than once" },
    };

    [Theory]
    [MemberData(nameof(MalformedStartups))]
    public void Rejects_malformed_startup_messages_with_a_reason(byte[] data, string expected)
    {
        foreach (var split in Sequences.AllSplits(data, threeWayLimit: 0))
        {
            var buffer = split;
            var status = StartupPacketReader.TryRead(ref buffer, Max, out var packet, out var error);

            Assert.Equal(ReadStatus.Invalid, status);
            Assert.Null(packet);
            Assert.Contains(expected, error);
        }
    }

    [Fact]
    public void Rejects_too_many_parameters()
    {
        var data = Startup(b =>
        {
            b.CString("user").CString("app");
            for (var i = 0; i < StartupPacketReader.MaxParameters; i++)
            {
                b.CString("p" + i).CString("");
            }

            return b.Byte(0);
        });
        var buffer = new ReadOnlySequence<byte>(data);

        Assert.Equal(ReadStatus.Invalid, StartupPacketReader.TryRead(ref buffer, 100_000, out _, out var error));
        Assert.Contains("more than 1000 parameters", error);
    }

    private static byte[] Startup(Func<Bytes, Bytes> content)
        => content(new Bytes().Int32(StartupPacket.ProtocolVersion30)).ToStartupPacket();
}
