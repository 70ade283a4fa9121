using System.Buffers;
using Sluice.Protocol.Messages;
using Sluice.Protocol.Tests.Support;

namespace Sluice.Protocol.Tests;

public class FrontendMessageReaderTests
{
    [Fact]
    public void Reads_a_query_wherever_split()
    {
        foreach (var payload in Sequences.AllSplits(new Bytes().CString("SELECT 'ü', $$;$$").ToArray()))
        {
            Assert.Equal("SELECT 'ü', $$;$$", FrontendMessageReader.ReadQuery(payload));
        }
    }

    [Fact]
    public void Query_text_in_another_encoding_is_read_with_replacement_characters()
    {
        // A LATIN1 client: 'é' is the single byte 0xE9. The proxy only peeks at SQL, so it must not fail here.
        var payload = new ReadOnlySequence<byte>(new Bytes().Text("SELECT '").Raw(0xE9).Text("'").Byte(0).ToArray());

        Assert.Equal("SELECT '\uFFFD'", FrontendMessageReader.ReadQuery(payload));
    }

    [Theory]
    [InlineData(new byte[0], "query string has no NUL terminator")]
    [InlineData(new byte[] { (byte)'S', (byte)'E' }, "query string has no NUL terminator")]
    [InlineData(new byte[] { (byte)'S', 0, (byte)'x' }, "unexpected bytes")]
    public void Rejects_malformed_queries(byte[] data, string expected)
    {
        foreach (var payload in Sequences.AllSplits(data))
        {
            var ex = Assert.Throws<ProtocolViolationException>(() => FrontendMessageReader.ReadQuery(payload));
            Assert.StartsWith("Malformed Query message", ex.Message);
            Assert.Contains(expected, ex.Message);
        }
    }

    [Fact]
    public void Reads_parse_wherever_split()
    {
        var data = new Bytes().CString("s1").CString("SELECT $1, $2").Int16(2).Int32(23).Int32(25).ToArray();
        foreach (var payload in Sequences.AllSplits(data))
        {
            var parse = FrontendMessageReader.ReadParse(payload);

            Assert.Equal("s1", parse.StatementName);
            Assert.Equal("SELECT $1, $2", parse.Query);
            Assert.Equal([23, 25], parse.ParameterTypes);
        }
    }

    [Fact]
    public void Reads_an_unnamed_parse_without_types()
    {
        var data = new Bytes().CString("").CString("SELECT 1").Int16(0).ToArray();

        var parse = FrontendMessageReader.ReadParse(new ReadOnlySequence<byte>(data));

        Assert.Equal("", parse.StatementName);
        Assert.Empty(parse.ParameterTypes);
    }

    [Fact]
    public void Reads_the_parameter_type_count_as_unsigned()
    {
        // PostgreSQL allows up to 65535 parameters: 0x8000 is 32768, not a negative count.
        var bytes = new Bytes().CString("").CString("q").Int16(unchecked((short)0x8000));
        for (var i = 0; i < 0x8000; i++)
        {
            bytes.Int32(i);
        }

        var parse = FrontendMessageReader.ReadParse(Sequences.Chunked(bytes.ToArray(), 4096));

        Assert.Equal(0x8000, parse.ParameterTypes.Length);
        Assert.Equal(0x7FFF, parse.ParameterTypes[^1]);
    }

    public static TheoryData<byte[], string> MalformedParse => new()
    {
        { new Bytes().CString("s1").ToArray(), "query string has no NUL terminator" },
        { new Bytes().CString("s1").CString("q").ToArray(), "truncated" },
        { new Bytes().CString("s1").CString("q").Byte(0).ToArray(), "truncated" },
        { new Bytes().CString("s1").CString("q").Int16(2).Int32(23).ToArray(), "declares 2 parameter types but only 4 bytes remain" },
        { new Bytes().CString("s1").CString("q").Int16(-1).ToArray(), "declares 65535 parameter types" },
        { new Bytes().CString("s1").CString("q").Int16(1).Int32(23).Byte(0).ToArray(), "unexpected bytes" },
    };

    [Theory]
    [MemberData(nameof(MalformedParse))]
    public void Rejects_malformed_parse(byte[] data, string expected)
    {
        foreach (var payload in Sequences.AllSplits(data))
        {
            var ex = Assert.Throws<ProtocolViolationException>(() => FrontendMessageReader.ReadParse(payload));
            Assert.Contains(expected, ex.Message);
        }
    }

    [Fact]
    public void Reads_bind_names_from_a_whole_bind_or_a_prefix()
    {
        var data = new Bytes().CString("portal").CString("stmt").Int16(0).Int16(1).Int32(1).Text("x").Int16(0).ToArray();
        var namesEnd = "portal\0stmt\0".Length;
        foreach (var payload in Sequences.AllSplits(data))
        {
            Assert.Equal(("portal", "stmt"), FrontendMessageReader.ReadBindNames(payload));
            Assert.Equal(("portal", "stmt"), FrontendMessageReader.ReadBindNames(payload.Slice(0, namesEnd)));
        }
    }

    [Fact]
    public void Reads_a_whole_bind_wherever_the_payload_is_split()
    {
        var data = new Bytes()
            .CString("portal").CString("stmt")
            .Int16(2).Int16(0).Int16(1)
            .Int16(3).Int32(1).Text("x").Int32(-1).Int32(0)
            .Int16(2).Int16(1).Int16(0)
            .ToArray();
        foreach (var payload in Sequences.AllSplits(data))
        {
            var bind = FrontendMessageReader.ReadBind(payload);

            Assert.Equal(("portal", "stmt", 3), (bind.Portal, bind.Statement, bind.ParameterCount));
            Assert.Equal([DataFormat.Binary, DataFormat.Text], bind.ResultFormats);
        }
    }

    public static TheoryData<byte[], string> MalformedBind => new()
    {
        { new Bytes().CString("").CString("").Int16(0).Int16(1).Int32(-2).Int16(0).ToArray(), "parameter 1 has length -2" },
        { new Bytes().CString("").CString("").Int16(0).Int16(1).Int32(5).Text("abc").ToArray(), "a parameter value declares 5 bytes" },
        { new Bytes().CString("").CString("").Int16(2).Int16(0).ToArray(), "parameter format codes declares 4 bytes" },
        { new Bytes().CString("").CString("").Int16(0).Int16(0).Int16(1).Int16(2).ToArray(), "unknown result format code 2" },
        { new Bytes().CString("").CString("").Int16(0).Int16(0).Int16(0).Byte(9).ToArray(), "1 unexpected bytes" },
        { new Bytes().CString("").CString("").Int16(0).Int16(0).ToArray(), "truncated" },
        { new Bytes().CString("portal").ToArray(), "statement name has no NUL terminator" },
    };

    [Theory]
    [MemberData(nameof(MalformedBind))]
    public void Rejects_malformed_bind(byte[] data, string expected)
    {
        foreach (var payload in Sequences.AllSplits(data))
        {
            var ex = Assert.Throws<ProtocolViolationException>(() => FrontendMessageReader.ReadBind(payload));
            Assert.Contains("Malformed Bind message", ex.Message);
            Assert.Contains(expected, ex.Message);
        }
    }

    [Fact]
    public void Reads_execute_wherever_the_payload_is_split()
    {
        var data = new Bytes().CString("p1").Int32(100).ToArray();
        foreach (var payload in Sequences.AllSplits(data))
        {
            Assert.Equal(("p1", 100), FrontendMessageReader.ReadExecute(payload));
        }

        var ex = Assert.Throws<ProtocolViolationException>(() => FrontendMessageReader.ReadExecute(new ReadOnlySequence<byte>(new Bytes().CString("p1").Int16(1).ToArray())));
        Assert.Contains("Malformed Execute message", ex.Message);
    }

    [Fact]
    public void Bind_names_cut_short_ask_for_more_or_throw()
    {
        var data = new Bytes().CString("portal").CString("stmt").ToArray();
        for (var length = 0; length < data.Length; length++)
        {
            var prefix = new ReadOnlySequence<byte>(data, 0, length);

            Assert.False(FrontendMessageReader.TryReadBindNames(prefix, out _, out _));
            var ex = Assert.Throws<ProtocolViolationException>(() => FrontendMessageReader.ReadBindNames(prefix));
            Assert.Contains("Bind", ex.Message);
        }
    }

    [Theory]
    [InlineData('S')]
    [InlineData('P')]
    public void Reads_close_and_describe(char kind)
    {
        foreach (var payload in Sequences.AllSplits(new Bytes().Byte(kind).CString("name").ToArray()))
        {
            Assert.Equal(((byte)kind, "name"), FrontendMessageReader.ReadCloseOrDescribe(payload));
        }
    }

    [Theory]
    [InlineData(new byte[0], "truncated")]
    [InlineData(new byte[] { (byte)'X', 0 }, "unknown target type 0x58")]
    [InlineData(new byte[] { (byte)'S', (byte)'n' }, "name has no NUL terminator")]
    [InlineData(new byte[] { (byte)'S', 0, 0 }, "unexpected bytes")]
    public void Rejects_malformed_close_and_describe(byte[] data, string expected)
    {
        foreach (var payload in Sequences.AllSplits(data))
        {
            var ex = Assert.Throws<ProtocolViolationException>(() => FrontendMessageReader.ReadCloseOrDescribe(payload));
            Assert.Contains(expected, ex.Message);
        }
    }

    [Fact]
    public void Reads_a_password()
    {
        foreach (var payload in Sequences.AllSplits(new Bytes().CString("s3cret ü").ToArray()))
        {
            Assert.Equal("s3cret ü", FrontendMessageReader.ReadPassword(payload));
        }
    }

    [Theory]
    [InlineData(new byte[] { (byte)'p', (byte)'w' }, "password has no NUL terminator")]
    [InlineData(new byte[] { (byte)'p', 0xFF, 0 }, "password is not valid UTF-8")]
    [InlineData(new byte[] { (byte)'p', 0, 0 }, "unexpected bytes")]
    public void Rejects_malformed_passwords(byte[] data, string expected)
    {
        foreach (var payload in Sequences.AllSplits(data))
        {
            var ex = Assert.Throws<ProtocolViolationException>(() => FrontendMessageReader.ReadPassword(payload));
            Assert.Contains(expected, ex.Message);
        }
    }

    [Fact]
    public void Reads_a_sasl_initial_response()
    {
        var data = new Bytes().CString("SCRAM-SHA-256").Int32(8).Text("n,,n=,r=").ToArray();
        foreach (var payload in Sequences.AllSplits(data, threeWayLimit: 0))
        {
            var response = FrontendMessageReader.ReadSaslInitialResponse(payload);

            Assert.Equal("SCRAM-SHA-256", response.Mechanism);
            Assert.Equal("n,,n=,r="u8.ToArray(), response.Data.ToArray());
        }
    }

    [Fact]
    public void A_sasl_initial_response_without_data_reads_as_empty()
    {
        var data = new Bytes().CString("SCRAM-SHA-256").Int32(-1).ToArray();

        var response = FrontendMessageReader.ReadSaslInitialResponse(new ReadOnlySequence<byte>(data));

        Assert.True(response.Data.IsEmpty);
    }

    public static TheoryData<byte[], string> MalformedSaslInitialResponses => new()
    {
        { new Bytes().Text("SCRAM").ToArray(), "mechanism name has no NUL terminator" },
        { new Bytes().CString("SCRAM").Raw(0, 0).ToArray(), "truncated" },
        { new Bytes().CString("SCRAM").Int32(-2).ToArray(), "negative data length -2" },
        { new Bytes().CString("SCRAM").Int32(int.MinValue).ToArray(), "negative data length" },
        { new Bytes().CString("SCRAM").Int32(5).Text("abc").ToArray(), "declares 5 bytes but 3 remain" },
        { new Bytes().CString("SCRAM").Int32(int.MaxValue).Text("abc").ToArray(), "declares 2147483647 bytes" },
        { new Bytes().CString("SCRAM").Int32(1).Text("ab").ToArray(), "unexpected bytes" },
        { new Bytes().CString("SCRAM").Int32(-1).Text("a").ToArray(), "unexpected bytes" },
    };

    [Theory]
    [MemberData(nameof(MalformedSaslInitialResponses))]
    public void Rejects_malformed_sasl_initial_responses(byte[] data, string expected)
    {
        foreach (var payload in Sequences.AllSplits(data))
        {
            var ex = Assert.Throws<ProtocolViolationException>(() => FrontendMessageReader.ReadSaslInitialResponse(payload));
            Assert.Contains(expected, ex.Message);
        }
    }
}
