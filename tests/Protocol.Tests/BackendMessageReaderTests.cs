using System.Buffers;
using Sluice.Protocol.Messages;
using Sluice.Protocol.Tests.Support;

namespace Sluice.Protocol.Tests;

public class BackendMessageReaderTests
{
    [Theory]
    [InlineData('I', TransactionStatus.Idle)]
    [InlineData('T', TransactionStatus.InTransaction)]
    [InlineData('E', TransactionStatus.Failed)]
    public void Reads_ready_for_query(char status, TransactionStatus expected)
    {
        foreach (var payload in Sequences.AllSplits([(byte)status]))
        {
            Assert.Equal(expected, BackendMessageReader.ReadReadyForQuery(payload));
        }
    }

    [Theory]
    [InlineData(new byte[0], "expected 1")]
    [InlineData(new byte[] { (byte)'I', (byte)'I' }, "expected 1")]
    [InlineData(new byte[] { (byte)'X' }, "unknown transaction status")]
    public void Rejects_bad_ready_for_query(byte[] payload, string expected)
    {
        var ex = Assert.Throws<ProtocolViolationException>(() => BackendMessageReader.ReadReadyForQuery(new ReadOnlySequence<byte>(payload)));
        Assert.Contains(expected, ex.Message);
    }

    [Fact]
    public void Reads_parameter_status_wherever_split()
    {
        var data = new Bytes().CString("client_encoding").CString("UTF8 ü").ToArray();
        foreach (var payload in Sequences.AllSplits(data))
        {
            Assert.Equal(("client_encoding", "UTF8 ü"), BackendMessageReader.ReadParameterStatus(payload));
        }
    }

    [Fact]
    public void Reads_parameter_status_with_empty_value()
    {
        var data = new Bytes().CString("application_name").CString("").ToArray();
        Assert.Equal(("application_name", ""), BackendMessageReader.ReadParameterStatus(new ReadOnlySequence<byte>(data)));
    }

    public static TheoryData<byte[], string> MalformedParameterStatus => new()
    {
        { [], "parameter name has no NUL terminator" },
        { new Bytes().Text("TimeZone").ToArray(), "parameter name has no NUL terminator" },
        { new Bytes().CString("TimeZone").Text("UTC").ToArray(), "parameter value has no NUL terminator" },
        { new Bytes().CString("TimeZone").CString("UTC").Byte(1).ToArray(), "1 unexpected bytes" },
    };

    [Theory]
    [MemberData(nameof(MalformedParameterStatus))]
    public void Rejects_malformed_parameter_status(byte[] data, string expected)
    {
        foreach (var payload in Sequences.AllSplits(data))
        {
            var ex = Assert.Throws<ProtocolViolationException>(() => BackendMessageReader.ReadParameterStatus(payload));
            Assert.Contains("ParameterStatus", ex.Message);
            Assert.Contains(expected, ex.Message);
        }
    }

    [Fact]
    public void Reads_backend_key_data_wherever_split()
    {
        var data = new Bytes().Int32(31337).Int32(-559038737).ToArray();
        foreach (var payload in Sequences.AllSplits(data))
        {
            Assert.Equal((31337, -559038737), BackendMessageReader.ReadBackendKeyData(payload));
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    [InlineData(9)]
    public void Rejects_backend_key_data_of_the_wrong_size(int size)
    {
        foreach (var payload in Sequences.AllSplits(new byte[size]))
        {
            var ex = Assert.Throws<ProtocolViolationException>(() => BackendMessageReader.ReadBackendKeyData(payload));
            Assert.Contains("BackendKeyData", ex.Message);
        }
    }

    [Fact]
    public void Reads_error_fields_wherever_split()
    {
        var data = new Bytes()
            .Byte('S').CString("FEHLER")
            .Byte('V').CString("ERROR")
            .Byte('C').CString("42P01")
            .Byte('M').CString("relation \"x\" does not exist")
            .Byte('D').CString("some detail")
            .Byte('H').CString("a hint")
            .Byte('P').CString("15")
            .Byte('F').CString("parse_relation.c")
            .Byte(0)
            .ToArray();
        foreach (var payload in Sequences.AllSplits(data, threeWayLimit: 0))
        {
            var fields = BackendMessageReader.ReadErrorFields(payload);

            Assert.Equal("ERROR", fields.Severity);
            Assert.Equal("42P01", fields.SqlState);
            Assert.Equal("relation \"x\" does not exist", fields.Message);
            Assert.Equal("some detail", fields.Detail);
            Assert.Equal("a hint", fields.Hint);
            Assert.False(fields.IsFatal);
        }
    }

    [Fact]
    public void Error_severity_falls_back_to_the_localized_field()
    {
        var data = new Bytes().Byte('S').CString("FATAL").Byte('C').CString("57P01").Byte('M').CString("bye").Byte(0).ToArray();
        foreach (var payload in Sequences.AllSplits(data))
        {
            var fields = BackendMessageReader.ReadErrorFields(payload);

            Assert.Equal("FATAL", fields.Severity);
            Assert.True(fields.IsFatal);
            Assert.Null(fields.Detail);
            Assert.Null(fields.Hint);
        }
    }

    public static TheoryData<byte[]> MalformedErrorFields => new()
    {
        { [] },
        { new Bytes().Byte('S').CString("ERROR").ToArray() },
        { new Bytes().Byte('S').Text("ERROR").ToArray() },
        { new Bytes().Byte('S').CString("ERROR").Byte(0).Byte('x').ToArray() },
        { new Bytes().Byte('M').ToArray() },
    };

    [Theory]
    [MemberData(nameof(MalformedErrorFields))]
    public void Rejects_malformed_error_fields(byte[] data)
    {
        foreach (var payload in Sequences.AllSplits(data))
        {
            var ex = Assert.Throws<ProtocolViolationException>(() => BackendMessageReader.ReadErrorFields(payload));
            Assert.StartsWith("Malformed ErrorResponse/NoticeResponse message", ex.Message);
        }
    }

    [Theory]
    [InlineData(0, AuthenticationRequestType.Ok)]
    [InlineData(3, AuthenticationRequestType.CleartextPassword)]
    [InlineData(7, AuthenticationRequestType.Gss)]
    [InlineData(9, AuthenticationRequestType.Sspi)]
    public void Reads_authentication_requests_without_data(int code, AuthenticationRequestType expected)
    {
        foreach (var payload in Sequences.AllSplits(new Bytes().Int32(code).ToArray()))
        {
            var request = BackendMessageReader.ReadAuthentication(payload);

            Assert.Equal(expected, request.Type);
            Assert.True(request.Data.IsEmpty);
            Assert.Empty(request.Mechanisms);
        }
    }

    [Fact]
    public void Reads_the_md5_salt()
    {
        foreach (var payload in Sequences.AllSplits(new Bytes().Int32(5).Raw(0xDE, 0xAD, 0xBE, 0xEF).ToArray()))
        {
            var request = BackendMessageReader.ReadAuthentication(payload);

            Assert.Equal(AuthenticationRequestType.Md5Password, request.Type);
            Assert.Equal([0xDE, 0xAD, 0xBE, 0xEF], request.Data.ToArray());
        }
    }

    [Fact]
    public void Reads_the_sasl_mechanism_list()
    {
        var data = new Bytes().Int32(10).CString("SCRAM-SHA-256-PLUS").CString("SCRAM-SHA-256").Byte(0).ToArray();
        foreach (var payload in Sequences.AllSplits(data))
        {
            var request = BackendMessageReader.ReadAuthentication(payload);

            Assert.Equal(AuthenticationRequestType.Sasl, request.Type);
            Assert.Equal(["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"], request.Mechanisms);
        }
    }

    [Theory]
    [InlineData(8, AuthenticationRequestType.GssContinue)]
    [InlineData(11, AuthenticationRequestType.SaslContinue)]
    [InlineData(12, AuthenticationRequestType.SaslFinal)]
    public void Reads_continuation_data(int code, AuthenticationRequestType expected)
    {
        var data = new Bytes().Int32(code).Text("r=abc,s=c2FsdA==,i=4096").ToArray();
        foreach (var payload in Sequences.AllSplits(data))
        {
            var request = BackendMessageReader.ReadAuthentication(payload);

            Assert.Equal(expected, request.Type);
            Assert.Equal("r=abc,s=c2FsdA==,i=4096"u8.ToArray(), request.Data.ToArray());
        }
    }

    public static TheoryData<byte[], string> MalformedAuthentication => new()
    {
        { [], "truncated" },
        { [0, 0], "truncated" },
        { new Bytes().Int32(0).Byte(1).ToArray(), "unexpected bytes" },
        { new Bytes().Int32(5).Raw(1, 2, 3).ToArray(), "MD5 salt declares 4 bytes but 3 remain" },
        { new Bytes().Int32(5).Raw(1, 2, 3, 4, 5).ToArray(), "unexpected bytes" },
        { new Bytes().Int32(10).CString("SCRAM-SHA-256").ToArray(), "no NUL terminator" },
        { new Bytes().Int32(10).Byte(0).ToArray(), "lists no mechanism" },
        { new Bytes().Int32(10).CString("SCRAM-SHA-256").Byte(0).Byte(0).ToArray(), "unexpected bytes" },
        { new Bytes().Int32(10).Raw(0xFF, 0).Byte(0).ToArray(), "not valid UTF-8" },
        { new Bytes().Int32(6).ToArray(), "unknown authentication request type 6" },
        { new Bytes().Int32(-1).ToArray(), "unknown authentication request type -1" },
    };

    [Theory]
    [MemberData(nameof(MalformedAuthentication))]
    public void Rejects_malformed_authentication_requests(byte[] data, string expected)
    {
        foreach (var payload in Sequences.AllSplits(data))
        {
            var ex = Assert.Throws<ProtocolViolationException>(() => BackendMessageReader.ReadAuthentication(payload));
            Assert.Contains(expected, ex.Message);
        }
    }

    [Fact]
    public void Reads_command_complete()
    {
        foreach (var payload in Sequences.AllSplits(new Bytes().CString("INSERT 0 1").ToArray()))
        {
            Assert.Equal("INSERT 0 1", BackendMessageReader.ReadCommandComplete(payload));
        }
    }

    [Theory]
    [InlineData(new byte[0])]
    [InlineData(new byte[] { (byte)'B', (byte)'E', (byte)'G', (byte)'I', (byte)'N' })]
    [InlineData(new byte[] { (byte)'B', 0, 0 })]
    public void Rejects_malformed_command_complete(byte[] data)
    {
        Assert.Throws<ProtocolViolationException>(() => BackendMessageReader.ReadCommandComplete(new ReadOnlySequence<byte>(data)));
    }

    [Fact]
    public void Data_row_text_reads_values_and_nulls_and_rejects_a_length_past_the_end()
    {
        var row = new Bytes().Int16(3).Int32(5).Text("alice").Int32(-1).Int32(0).ToArray();
        Assert.Equal(new string?[] { "alice", null, "" }.AsEnumerable(), BackendMessageReader.ReadDataRowText(new ReadOnlySequence<byte>(row)));

        var broken = new Bytes().Int16(1).Int32(50).Text("short").ToArray();
        Assert.Throws<ProtocolViolationException>(() => BackendMessageReader.ReadDataRowText(new ReadOnlySequence<byte>(broken)));
    }
}
