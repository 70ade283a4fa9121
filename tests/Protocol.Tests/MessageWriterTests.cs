using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Sluice.Protocol.Framing;
using Sluice.Protocol.Messages;
using Sluice.Protocol.Startup;
using Sluice.Protocol.Tests.Support;

namespace Sluice.Protocol.Tests;

public class MessageWriterTests
{
    [Fact]
    public void Writes_fixed_messages_byte_for_byte()
    {
        Assert.Equal(new Bytes().Int32(0).ToMessage('R'), Write(MessageWriter.WriteAuthenticationOk));
        Assert.Equal(new Bytes().Int32(3).ToMessage('R'), Write(MessageWriter.WriteAuthenticationCleartextPassword));
        Assert.Equal(new Bytes().Byte('T').ToMessage('Z'), Write(w => MessageWriter.WriteReadyForQuery(w, TransactionStatus.InTransaction)));
        Assert.Equal(new Bytes().ToMessage('I'), Write(MessageWriter.WriteEmptyQueryResponse));
        Assert.Equal(new Bytes().ToMessage('1'), Write(MessageWriter.WriteParseComplete));
        Assert.Equal(new Bytes().ToMessage('2'), Write(MessageWriter.WriteBindComplete));
        Assert.Equal(new Bytes().ToMessage('3'), Write(MessageWriter.WriteCloseComplete));
        Assert.Equal(new Bytes().ToMessage('n'), Write(MessageWriter.WriteNoData));
        Assert.Equal(new Bytes().ToMessage('S'), Write(MessageWriter.WriteSync));
        Assert.Equal(new Bytes().ToMessage('X'), Write(MessageWriter.WriteTerminate));
        Assert.Equal(new Bytes().Int32(8).Int32(80877103).ToArray(), Write(MessageWriter.WriteSslRequest));
        Assert.Equal([(byte)'N'], Write(w => MessageWriter.WriteSingleByte(w, (byte)'N')));
    }

    [Fact]
    public void Bind_with_text_parameters_carries_them_as_values_not_text_to_parse()
    {
        var expected = new Bytes().CString("").CString("")
            .Int16(0)
            .Int16(2).Int32(9).Text("o'neil;--").Int32(-1)
            .Int16(0)
            .ToMessage('B');

        Assert.Equal(expected, Write(w => MessageWriter.WriteBind(w, "", "", ["o'neil;--", null])));
    }

    [Fact]
    public void Error_response_round_trips_with_every_field()
    {
        var bytes = Write(w => MessageWriter.WriteErrorResponse(w, "FATAL", SqlState.TooManyConnections, "too many clients – ü", "detail", "hint"));

        var (code, payload) = ReadSingleFrame(bytes);
        Assert.Equal((byte)'E', code);
        var fields = BackendMessageReader.ReadErrorFields(payload);
        Assert.Equal(
            new ErrorFields { Severity = "FATAL", SqlState = "53300", Message = "too many clients – ü", Detail = "detail", Hint = "hint" },
            fields);
        Assert.True(fields.IsFatal);
    }

    [Fact]
    public void Error_response_carries_both_severity_fields_and_only_the_optional_fields_given()
    {
        var bytes = Write(w => MessageWriter.WriteErrorResponse(w, "ERROR", "08P01", "bad"));

        var expected = new Bytes()
            .Byte('S').CString("ERROR")
            .Byte('V').CString("ERROR")
            .Byte('C').CString("08P01")
            .Byte('M').CString("bad")
            .Byte(0)
            .ToMessage('E');
        Assert.Equal(expected, bytes);
    }

    [Fact]
    public void Notice_response_round_trips()
    {
        var (code, payload) = ReadSingleFrame(Write(w => MessageWriter.WriteNoticeResponse(w, "WARNING", "01000", "careful")));

        Assert.Equal((byte)'N', code);
        var fields = BackendMessageReader.ReadErrorFields(payload);
        Assert.Equal(("WARNING", "01000", "careful"), (fields.Severity, fields.SqlState, fields.Message));
        Assert.Null(fields.Detail);
    }

    [Fact]
    public void Error_fields_are_copied_with_a_name_replaced_wherever_the_payload_is_split()
    {
        var original = new Bytes()
            .Byte('S').CString("ERROR")
            .Byte('V').CString("ERROR")
            .Byte('C').CString("08P01")
            .Byte('M').CString("bind message supplies 1 parameters, but prepared statement \"sluice_7\" requires 2")
            .Byte('D').CString("sluice_7 and sluice_7")
            .Byte('H').CString("not sluice_71, xsluice_7 nor sluice_7$")
            .Byte('P').CString("15")
            .Byte('F').CString("postgres.c")
            .Byte('R').CString("exec_bind_message")
            .Byte(0)
            .ToArray();
        var expected = new Bytes()
            .Byte('S').CString("ERROR")
            .Byte('V').CString("ERROR")
            .Byte('C').CString("08P01")
            .Byte('M').CString("bind message supplies 1 parameters, but prepared statement \"my statement ü\" requires 2")
            .Byte('D').CString("my statement ü and my statement ü")
            .Byte('H').CString("not sluice_71, xsluice_7 nor sluice_7$")
            .Byte('P').CString("15")
            .Byte('F').CString("postgres.c")
            .Byte('R').CString("exec_bind_message")
            .Byte(0)
            .ToMessage('E');

        foreach (var payload in Sequences.AllSplits(original, threeWayLimit: 0))
        {
            var writer = new ArrayBufferWriter<byte>(1);
            Assert.True(MessageWriter.TryWriteFieldsReplacing(writer, (byte)'E', payload, "sluice_7", "my statement ü"));
            Assert.Equal(expected, writer.WrittenSpan.ToArray());
        }
    }

    [Fact]
    public void Error_fields_replacing_a_name_keep_bytes_in_other_encodings_and_find_names_in_localized_quotes()
    {
        // LATIN1 "Ä" (0xC4) is not UTF-8: it must come through untouched, not as U+FFFD.
        var original = new Bytes().Byte('M').Raw(0xC4).Text(" »s_2« ").Raw(0xC4).Byte(0).Byte('C').CString("26000").Byte(0).ToArray();
        var expected = new Bytes().Byte('M').Raw(0xC4).Text(" »p« ").Raw(0xC4).Byte(0).Byte('C').CString("26000").Byte(0).ToMessage('N');

        var writer = new ArrayBufferWriter<byte>(1);
        Assert.True(MessageWriter.TryWriteFieldsReplacing(writer, (byte)'N', new ReadOnlySequence<byte>(original), "s_2", "p"));

        Assert.Equal(expected, writer.WrittenSpan.ToArray());
    }

    [Theory]
    [InlineData("prepared statement \"sluice_12\" does not exist")]
    [InlineData("no statement at all")]
    public void Error_fields_without_the_name_are_not_written(string message)
    {
        var payload = new Bytes().Byte('S').CString("ERROR").Byte('C').CString("26000").Byte('M').CString(message).Byte(0).ToArray();
        var writer = new ArrayBufferWriter<byte>(1);

        Assert.False(MessageWriter.TryWriteFieldsReplacing(writer, (byte)'E', new ReadOnlySequence<byte>(payload), "sluice_1", "mine"));

        Assert.Equal(0, writer.WrittenCount);
    }

    [Fact]
    public void Error_fields_with_an_unterminated_value_are_rejected()
    {
        var payload = new Bytes().Byte('M').Text("sluice_1").ToArray();

        var ex = Assert.Throws<ProtocolViolationException>(() => MessageWriter.TryWriteFieldsReplacing(new ArrayBufferWriter<byte>(), (byte)'E', new ReadOnlySequence<byte>(payload), "sluice_1", "mine"));
        Assert.StartsWith("Malformed ErrorResponse/NoticeResponse message", ex.Message);
    }

    [Fact]
    public void Authentication_requests_round_trip()
    {
        var md5 = BackendMessageReader.ReadAuthentication(ReadPayload(Write(w => MessageWriter.WriteAuthenticationMd5Password(w, [1, 2, 3, 4])), 'R'));
        Assert.Equal(AuthenticationRequestType.Md5Password, md5.Type);
        Assert.Equal([1, 2, 3, 4], md5.Data.ToArray());

        var sasl = BackendMessageReader.ReadAuthentication(ReadPayload(Write(w => MessageWriter.WriteAuthenticationSasl(w, ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"])), 'R'));
        Assert.Equal(["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"], sasl.Mechanisms);

        var saslContinue = BackendMessageReader.ReadAuthentication(ReadPayload(Write(w => MessageWriter.WriteAuthenticationSaslContinue(w, "r=x"u8)), 'R'));
        Assert.Equal((AuthenticationRequestType.SaslContinue, "r=x"), (saslContinue.Type, Encoding.UTF8.GetString(saslContinue.Data.Span)));

        var saslFinal = BackendMessageReader.ReadAuthentication(ReadPayload(Write(w => MessageWriter.WriteAuthenticationSaslFinal(w, "v=y"u8)), 'R'));
        Assert.Equal((AuthenticationRequestType.SaslFinal, "v=y"), (saslFinal.Type, Encoding.UTF8.GetString(saslFinal.Data.Span)));

        var ok = BackendMessageReader.ReadAuthentication(ReadPayload(Write(MessageWriter.WriteAuthenticationOk), 'R'));
        Assert.Equal(AuthenticationRequestType.Ok, ok.Type);
    }

    [Fact]
    public void Md5_salt_must_be_four_bytes()
    {
        Assert.Throws<ArgumentException>(() => Write(w => MessageWriter.WriteAuthenticationMd5Password(w, [1, 2, 3])));
    }

    [Fact]
    public void Session_messages_round_trip()
    {
        Assert.Equal(("TimeZone", "Europe/Zürich"), BackendMessageReader.ReadParameterStatus(ReadPayload(Write(w => MessageWriter.WriteParameterStatus(w, "TimeZone", "Europe/Zürich")), 'S')));
        Assert.Equal((7, -8), BackendMessageReader.ReadBackendKeyData(ReadPayload(Write(w => MessageWriter.WriteBackendKeyData(w, 7, -8)), 'K')));
        Assert.Equal(TransactionStatus.Failed, BackendMessageReader.ReadReadyForQuery(ReadPayload(Write(w => MessageWriter.WriteReadyForQuery(w, TransactionStatus.Failed)), 'Z')));
        Assert.Equal("SHOW", BackendMessageReader.ReadCommandComplete(ReadPayload(Write(w => MessageWriter.WriteCommandComplete(w, "SHOW")), 'C')));
    }

    [Fact]
    public void Negotiate_protocol_version_lists_the_newest_version_and_the_unsupported_options()
    {
        var bytes = Write(w => MessageWriter.WriteNegotiateProtocolVersion(w, 0, ["_pq_.a", "_pq_.b"]));

        Assert.Equal(new Bytes().Int32(196608).Int32(2).CString("_pq_.a").CString("_pq_.b").ToMessage('v'), bytes);
    }

    [Fact]
    public void Row_description_describes_text_columns_without_a_table()
    {
        var bytes = Write(w => MessageWriter.WriteRowDescription(w, [new("name"), new("count", ColumnDescription.Int8Oid, 8)]));

        var expected = new Bytes()
            .Int16(2)
            .CString("name").Int32(0).Int16(0).Int32(25).Int16(-1).Int32(-1).Int16(0)
            .CString("count").Int32(0).Int16(0).Int32(20).Int16(8).Int32(-1).Int16(0)
            .ToMessage('T');
        Assert.Equal(expected, bytes);
    }

    [Fact]
    public void Data_row_writes_values_with_lengths_and_null_as_minus_one()
    {
        var bytes = Write(w => MessageWriter.WriteDataRow(w, ["a", null, "", "ü\0x"]));

        var expected = new Bytes()
            .Int16(4)
            .Int32(1).Text("a")
            .Int32(-1)
            .Int32(0)
            .Int32(4).Text("ü\0x")
            .ToMessage('D');
        Assert.Equal(expected, bytes);
    }

    [Fact]
    public void Row_description_carries_the_formats_bind_asked_for()
    {
        ColumnDescription[] columns = [new("name"), new("count", ColumnDescription.Int8Oid, 8)];

        var perColumn = Write(w => MessageWriter.WriteRowDescription(w, columns, [DataFormat.Text, DataFormat.Binary]));
        var forAll = Write(w => MessageWriter.WriteRowDescription(w, columns, [DataFormat.Binary]));

        Assert.Equal(
            new Bytes().Int16(2)
                .CString("name").Int32(0).Int16(0).Int32(25).Int16(-1).Int32(-1).Int16(0)
                .CString("count").Int32(0).Int16(0).Int32(20).Int16(8).Int32(-1).Int16(1)
                .ToMessage('T'),
            perColumn);
        Assert.Equal(
            new Bytes().Int16(2)
                .CString("name").Int32(0).Int16(0).Int32(25).Int16(-1).Int32(-1).Int16(1)
                .CString("count").Int32(0).Int16(0).Int32(20).Int16(8).Int32(-1).Int16(1)
                .ToMessage('T'),
            forAll);
    }

    [Fact]
    public void Typed_data_row_writes_text_as_postgresql_prints_it()
    {
        ColumnDescription[] columns =
        [
            new("t"), new("i8", ColumnDescription.Int8Oid, 8), new("i4", ColumnDescription.Int4Oid, 4),
            new("f8", ColumnDescription.Float8Oid, 8), new("b", ColumnDescription.BoolOid, 1), new("n"),
        ];

        var bytes = Write(w => MessageWriter.WriteDataRow(w, columns, ["ü", -5L, 7, 0.1, true, null]));

        var expected = new Bytes()
            .Int16(6)
            .Int32(2).Text("ü")
            .Int32(2).Text("-5")
            .Int32(1).Text("7")
            .Int32(3).Text("0.1")
            .Int32(1).Text("t")
            .Int32(-1)
            .ToMessage('D');
        Assert.Equal(expected, bytes);
    }

    [Fact]
    public void Typed_data_row_writes_binary_in_the_types_send_format_and_pads_a_short_row_with_nulls()
    {
        ColumnDescription[] columns =
        [
            new("i8", ColumnDescription.Int8Oid, 8), new("i4", ColumnDescription.Int4Oid, 4), new("f8", ColumnDescription.Float8Oid, 8),
            new("b", ColumnDescription.BoolOid, 1), new("t"), new("missing"),
        ];

        var bytes = Write(w => MessageWriter.WriteDataRow(w, columns, [1L << 40, -2, 1.5, false, "x"], [DataFormat.Binary]));

        var expected = new Bytes()
            .Int16(6)
            .Int32(8).Raw(0, 0, 1, 0, 0, 0, 0, 0)
            .Int32(4).Raw(0xFF, 0xFF, 0xFF, 0xFE)
            .Int32(8).Raw(0x3F, 0xF8, 0, 0, 0, 0, 0, 0)
            .Int32(1).Raw(0)
            .Int32(1).Text("x")
            .Int32(-1)
            .ToMessage('D');
        Assert.Equal(expected, bytes);
    }

    [Fact]
    public void Portal_suspended_is_an_empty_message() =>
        Assert.Equal(new Bytes().ToMessage('s'), Write(MessageWriter.WritePortalSuspended));

    [Fact]
    public void Parameter_description_lists_the_types()
    {
        var bytes = Write(w => MessageWriter.WriteParameterDescription(w, [23, 25]));

        Assert.Equal(new Bytes().Int16(2).Int32(23).Int32(25).ToMessage('t'), bytes);
    }

    [Fact]
    public void Startup_message_round_trips_through_the_startup_reader()
    {
        var bytes = Write(w => MessageWriter.WriteStartupMessage(w, [new("user", "app"), new("database", "shop"), new("application_name", "süß")]));
        var buffer = new ReadOnlySequence<byte>(bytes);

        Assert.Equal(ReadStatus.Ok, StartupPacketReader.TryRead(ref buffer, StartupPacketReader.DefaultMaxLength, out var packet, out _));
        Assert.Equal(StartupPacket.ProtocolVersion30, packet!.ProtocolVersion);
        Assert.Equal([new("user", "app"), new("database", "shop"), new("application_name", "süß")], packet.Parameters);
        Assert.True(buffer.IsEmpty);
    }

    [Fact]
    public void Cancel_and_ssl_requests_round_trip_through_the_startup_reader()
    {
        var buffer = new ReadOnlySequence<byte>(Write(w =>
        {
            MessageWriter.WriteCancelRequest(w, 99, -5);
            MessageWriter.WriteSslRequest(w);
        }));

        Assert.Equal(ReadStatus.Ok, StartupPacketReader.TryRead(ref buffer, StartupPacketReader.DefaultMaxLength, out var cancel, out _));
        Assert.Equal((StartupPacketKind.CancelRequest, 99, -5), (cancel!.Kind, cancel.CancelProcessId, cancel.CancelSecretKey));
        Assert.Equal(ReadStatus.Ok, StartupPacketReader.TryRead(ref buffer, StartupPacketReader.DefaultMaxLength, out var ssl, out _));
        Assert.Equal(StartupPacketKind.SslRequest, ssl!.Kind);
    }

    [Fact]
    public void Frontend_messages_round_trip()
    {
        Assert.Equal("SELECT 'ü'", FrontendMessageReader.ReadQuery(ReadPayload(Write(w => MessageWriter.WriteQuery(w, "SELECT 'ü'")), 'Q')));
        Assert.Equal("pw", FrontendMessageReader.ReadPassword(ReadPayload(Write(w => MessageWriter.WritePasswordMessage(w, "pw")), 'p')));
        Assert.Equal(((byte)'S', "s1"), FrontendMessageReader.ReadCloseOrDescribe(ReadPayload(Write(w => MessageWriter.WriteClose(w, (byte)'S', "s1")), 'C')));

        var parse = FrontendMessageReader.ReadParse(ReadPayload(Write(w => MessageWriter.WriteParse(w, "s1", "SELECT $1", [23])), 'P'));
        Assert.Equal(("s1", "SELECT $1"), (parse.StatementName, parse.Query));
        Assert.Equal([23], parse.ParameterTypes);

        var initial = FrontendMessageReader.ReadSaslInitialResponse(ReadPayload(Write(w => MessageWriter.WriteSaslInitialResponse(w, "SCRAM-SHA-256", "n,,n=,r=abc"u8)), 'p'));
        Assert.Equal(("SCRAM-SHA-256", "n,,n=,r=abc"), (initial.Mechanism, Encoding.UTF8.GetString(initial.Data.Span)));

        Assert.Equal("c=biws"u8.ToArray(), ReadPayload(Write(w => MessageWriter.WriteSaslResponse(w, "c=biws"u8)), 'p').ToArray());
    }

    [Fact]
    public void Consecutive_messages_follow_each_other_in_one_buffer()
    {
        var bytes = Write(w =>
        {
            MessageWriter.WriteAuthenticationOk(w);
            MessageWriter.WriteParameterStatus(w, "server_version", "15.0");
            MessageWriter.WriteBackendKeyData(w, 1, 2);
            MessageWriter.WriteReadyForQuery(w, TransactionStatus.Idle);
        });

        var buffer = Sequences.Chunked(bytes, 3);
        var codes = new StringBuilder();
        while (FrameReader.TryReadHeader(buffer, FrameReader.DefaultMaxFrameLength, out var header) == ReadStatus.Ok)
        {
            codes.Append((char)header.Code);
            buffer = buffer.Slice(header.FrameLength);
        }

        Assert.Equal("RSKZ", codes.ToString());
        Assert.True(buffer.IsEmpty);
    }

    [Fact]
    public void Refuses_strings_the_protocol_cannot_carry()
    {
        Assert.Throws<ArgumentException>(() => Write(w => MessageWriter.WriteQuery(w, "SELECT 1\0; DROP TABLE x")));
        Assert.Throws<ArgumentException>(() => Write(w => MessageWriter.WriteErrorResponse(w, "ERROR", "28P01", "user \"a\0b\"")));
        Assert.Throws<ArgumentException>(() => Write(w => MessageWriter.WriteStartupMessage(w, [new("", "x")])));
        Assert.Throws<ArgumentOutOfRangeException>(() => Write(w => MessageWriter.WriteClose(w, (byte)'X', "s")));
    }

    [Fact]
    public void Writes_into_a_writer_that_already_holds_data()
    {
        var writer = new ArrayBufferWriter<byte>(1);
        writer.Write("xyz"u8);

        MessageWriter.WriteCommandComplete(writer, "SELECT 1");

        Assert.Equal([.. "xyz"u8.ToArray(), .. new Bytes().CString("SELECT 1").ToMessage('C')], writer.WrittenSpan.ToArray());
    }

    private static byte[] Write(Action<IBufferWriter<byte>> write)
    {
        var writer = new ArrayBufferWriter<byte>(1);
        write(writer);
        return writer.WrittenSpan.ToArray();
    }

    private static ReadOnlySequence<byte> ReadPayload(byte[] bytes, char expectedCode)
    {
        var (code, payload) = ReadSingleFrame(bytes);
        Assert.Equal((byte)expectedCode, code);
        return payload;
    }

    /// <summary>Checks the bytes are exactly one frame whose declared length is right, and returns its payload.</summary>
    private static (byte Code, ReadOnlySequence<byte> Payload) ReadSingleFrame(byte[] bytes)
    {
        var buffer = new ReadOnlySequence<byte>(bytes);
        Assert.Equal(ReadStatus.Ok, FrameReader.TryReadHeader(buffer, FrameReader.DefaultMaxFrameLength, out var header));
        Assert.Equal(bytes.Length, header.FrameLength);
        Assert.Equal(header.Length, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(1)));
        return (header.Code, buffer.Slice(FrameHeader.Size));
    }
}
