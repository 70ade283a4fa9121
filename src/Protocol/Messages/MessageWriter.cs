using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using Sluice.Protocol.Internal;
using Sluice.Protocol.Startup;

namespace Sluice.Protocol.Messages;

/// <summary>A column of a RowDescription the proxy makes itself (admin console, SHOW answers).</summary>
public readonly record struct ColumnDescription(string Name, int TypeOid = ColumnDescription.TextOid, short TypeSize = -1)
{
    public const int BoolOid = 16;
    public const int Int8Oid = 20;
    public const int Int4Oid = 23;
    public const int TextOid = 25;
    public const int Float8Oid = 701;
}

/// <summary>
/// Writes the messages the proxy makes itself, straight into an <see cref="IBufferWriter{T}"/> (a PipeWriter), with
/// no intermediate arrays. Strings are UTF-8, NUL-terminated as the protocol wants. Each method measures the message
/// first, asks the writer for one span of that size and advances once. A string that contains a NUL character
/// cannot be carried by the protocol and throws <see cref="ArgumentException"/>.
/// </summary>
public static class MessageWriter
{
    private const int HeaderSize = 5;

    // ---- backend messages (proxy → client)
    public static void WriteErrorResponse(IBufferWriter<byte> writer, string severity, string sqlState, string message, string? detail = null, string? hint = null)
        => WriteFields(writer, (byte)BackendMessageCode.ErrorResponse, severity, sqlState, message, detail, hint);

    public static void WriteNoticeResponse(IBufferWriter<byte> writer, string severity, string sqlState, string message)
        => WriteFields(writer, (byte)BackendMessageCode.NoticeResponse, severity, sqlState, message, detail: null, hint: null);

    /// <summary>
    /// Copies an ErrorResponse or NoticeResponse <paramref name="payload"/> (every field, in order) with each
    /// whole-word occurrence of <paramref name="name"/> in a field value replaced by <paramref name="replacement"/>.
    /// The rest is copied byte for byte, never decoded: a server's text is in the client's encoding, which need not be
    /// UTF-8. False, with nothing written, when no field value holds the name. A name is a whole word when no ASCII
    /// letter, digit, '_' or '$' touches it, so "s_1" is not found inside "s_12"; localized quotes («», „“) still count
    /// as boundaries.
    /// </summary>
    public static bool TryWriteFieldsReplacing(IBufferWriter<byte> writer, byte code, in ReadOnlySequence<byte> payload, string name, string replacement)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var length = checked((int)payload.Length);
        var rented = ArrayPool<byte>.Shared.Rent(length + (2 * (CStringLength(name) + CStringLength(replacement))));
        try
        {
            var source = rented.AsSpan(0, length);
            payload.CopyTo(source);
            var find = rented.AsSpan(length, ProtocolEncoding.Relaxed.GetBytes(name, rented.AsSpan(length)));
            var replaceStart = length + find.Length;
            var replace = rented.AsSpan(replaceStart, ProtocolEncoding.Relaxed.GetBytes(replacement, rented.AsSpan(replaceStart)));
            var found = ReplaceInFields(source, find, replace, default);
            if (found == 0)
            {
                return false;
            }

            var span = Begin(writer, code, checked(length + (found * (replace.Length - find.Length))), out var total);
            ReplaceInFields(source, find, replace, span.Slice(HeaderSize, total - HeaderSize));
            End(writer, total, total);
            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    public static void WriteAuthenticationOk(IBufferWriter<byte> writer)
        => WriteAuthenticationCode(writer, AuthenticationRequestType.Ok);

    public static void WriteAuthenticationCleartextPassword(IBufferWriter<byte> writer)
        => WriteAuthenticationCode(writer, AuthenticationRequestType.CleartextPassword);

    public static void WriteAuthenticationMd5Password(IBufferWriter<byte> writer, ReadOnlySpan<byte> salt)
    {
        if (salt.Length != 4)
        {
            throw new ArgumentException($"An MD5 salt is 4 bytes, not {salt.Length}.", nameof(salt));
        }

        WriteAuthenticationData(writer, AuthenticationRequestType.Md5Password, salt);
    }

    public static void WriteAuthenticationSasl(IBufferWriter<byte> writer, IReadOnlyList<string> mechanisms)
    {
        var payload = 4 + 1;
        for (var i = 0; i < mechanisms.Count; i++)
        {
            payload = checked(payload + CStringLength(mechanisms[i]));
        }

        var span = Begin(writer, (byte)BackendMessageCode.Authentication, payload, out var total);
        BinaryPrimitives.WriteInt32BigEndian(span.Slice(HeaderSize), (int)AuthenticationRequestType.Sasl);
        var pos = HeaderSize + 4;
        for (var i = 0; i < mechanisms.Count; i++)
        {
            pos += WriteCString(span.Slice(pos), mechanisms[i]);
        }

        span[pos++] = 0;
        End(writer, pos, total);
    }

    public static void WriteAuthenticationSaslContinue(IBufferWriter<byte> writer, ReadOnlySpan<byte> data)
        => WriteAuthenticationData(writer, AuthenticationRequestType.SaslContinue, data);

    public static void WriteAuthenticationSaslFinal(IBufferWriter<byte> writer, ReadOnlySpan<byte> data)
        => WriteAuthenticationData(writer, AuthenticationRequestType.SaslFinal, data);

    public static void WriteParameterStatus(IBufferWriter<byte> writer, string name, string value)
    {
        var payload = checked(CStringLength(name) + CStringLength(value));
        var span = Begin(writer, (byte)BackendMessageCode.ParameterStatus, payload, out var total);
        var pos = HeaderSize;
        pos += WriteCString(span.Slice(pos), name);
        pos += WriteCString(span.Slice(pos), value);
        End(writer, pos, total);
    }

    public static void WriteBackendKeyData(IBufferWriter<byte> writer, int processId, int secretKey)
    {
        var span = Begin(writer, (byte)BackendMessageCode.BackendKeyData, 8, out var total);
        BinaryPrimitives.WriteInt32BigEndian(span.Slice(HeaderSize), processId);
        BinaryPrimitives.WriteInt32BigEndian(span.Slice(HeaderSize + 4), secretKey);
        End(writer, total, total);
    }

    public static void WriteReadyForQuery(IBufferWriter<byte> writer, TransactionStatus status)
    {
        var span = Begin(writer, (byte)BackendMessageCode.ReadyForQuery, 1, out var total);
        span[HeaderSize] = (byte)status;
        End(writer, total, total);
    }

    /// <summary>Answers a StartupMessage asking for 3.x with x above the newest minor supported, or for _pq_ options.</summary>
    public static void WriteNegotiateProtocolVersion(IBufferWriter<byte> writer, int newestMinorVersion, IReadOnlyList<string> unsupportedOptions)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(newestMinorVersion);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(newestMinorVersion, 0xFFFF);
        var payload = 8;
        for (var i = 0; i < unsupportedOptions.Count; i++)
        {
            payload = checked(payload + CStringLength(unsupportedOptions[i]));
        }

        var span = Begin(writer, (byte)BackendMessageCode.NegotiateProtocolVersion, payload, out var total);
        BinaryPrimitives.WriteInt32BigEndian(span.Slice(HeaderSize), StartupPacket.ProtocolVersion30 | newestMinorVersion);
        BinaryPrimitives.WriteInt32BigEndian(span.Slice(HeaderSize + 4), unsupportedOptions.Count);
        var pos = HeaderSize + 8;
        for (var i = 0; i < unsupportedOptions.Count; i++)
        {
            pos += WriteCString(span.Slice(pos), unsupportedOptions[i]);
        }

        End(writer, pos, total);
    }

    /// <summary>The single-byte answer to SSLRequest / GSSENCRequest: 'S' or 'N' (or 'G').</summary>
    public static void WriteSingleByte(IBufferWriter<byte> writer, byte value)
    {
        writer.GetSpan(1)[0] = value;
        writer.Advance(1);
    }

    /// <summary>
    /// Columns with no table behind them (table OID 0, attribute 0, type modifier -1), in the formats Bind asked for
    /// (<see cref="DataFormat.ForColumn"/>; none: all text).
    /// </summary>
    public static void WriteRowDescription(IBufferWriter<byte> writer, IReadOnlyList<ColumnDescription> columns, ReadOnlySpan<short> formats = default)
    {
        var count = CheckInt16Count(columns.Count, nameof(columns));
        var payload = 2;
        for (var i = 0; i < count; i++)
        {
            payload = checked(payload + CStringLength(columns[i].Name) + 18);
        }

        var span = Begin(writer, (byte)BackendMessageCode.RowDescription, payload, out var total);
        BinaryPrimitives.WriteInt16BigEndian(span.Slice(HeaderSize), (short)count);
        var pos = HeaderSize + 2;
        for (var i = 0; i < count; i++)
        {
            var column = columns[i];
            pos += WriteCString(span.Slice(pos), column.Name);
            BinaryPrimitives.WriteInt32BigEndian(span.Slice(pos), 0);
            BinaryPrimitives.WriteInt16BigEndian(span.Slice(pos + 4), 0);
            BinaryPrimitives.WriteInt32BigEndian(span.Slice(pos + 6), column.TypeOid);
            BinaryPrimitives.WriteInt16BigEndian(span.Slice(pos + 10), column.TypeSize);
            BinaryPrimitives.WriteInt32BigEndian(span.Slice(pos + 12), -1);
            BinaryPrimitives.WriteInt16BigEndian(span.Slice(pos + 16), DataFormat.ForColumn(formats, i));
            pos += 18;
        }

        End(writer, pos, total);
    }

    /// <summary>A DataRow of text values; null is SQL NULL. Values are not NUL-terminated, so any text is allowed.</summary>
    public static void WriteDataRow(IBufferWriter<byte> writer, IReadOnlyList<string?> values)
    {
        var count = CheckInt16Count(values.Count, nameof(values));
        var payload = 2;
        for (var i = 0; i < count; i++)
        {
            var value = values[i];
            payload = checked(payload + 4 + (value is null ? 0 : ProtocolEncoding.Relaxed.GetByteCount(value)));
        }

        var span = Begin(writer, (byte)BackendMessageCode.DataRow, payload, out var total);
        BinaryPrimitives.WriteInt16BigEndian(span.Slice(HeaderSize), (short)count);
        var pos = HeaderSize + 2;
        for (var i = 0; i < count; i++)
        {
            var value = values[i];
            if (value is null)
            {
                BinaryPrimitives.WriteInt32BigEndian(span.Slice(pos), -1);
                pos += 4;
            }
            else
            {
                var written = ProtocolEncoding.Relaxed.GetBytes(value, span.Slice(pos + 4));
                BinaryPrimitives.WriteInt32BigEndian(span.Slice(pos), written);
                pos += 4 + written;
            }
        }

        End(writer, pos, total);
    }

    /// <summary>
    /// A DataRow of typed values under <paramref name="columns"/>, each in the format Bind asked for: see
    /// <see cref="DataFormat"/> for the values and how they are written. A row shorter than the columns ends in NULLs.
    /// </summary>
    public static void WriteDataRow(IBufferWriter<byte> writer, IReadOnlyList<ColumnDescription> columns, IReadOnlyList<object?> values, ReadOnlySpan<short> formats = default)
    {
        var count = CheckInt16Count(columns.Count, nameof(columns));
        var payload = 2;
        for (var i = 0; i < count; i++)
        {
            payload = checked(payload + 4 + Math.Max(0, DataFormat.Length(columns[i].TypeOid, ValueAt(values, i), DataFormat.ForColumn(formats, i))));
        }

        var span = Begin(writer, (byte)BackendMessageCode.DataRow, payload, out var total);
        BinaryPrimitives.WriteInt16BigEndian(span.Slice(HeaderSize), (short)count);
        var pos = HeaderSize + 2;
        for (var i = 0; i < count; i++)
        {
            var written = ValueAt(values, i) is { } value ? DataFormat.Write(span.Slice(pos + 4), columns[i].TypeOid, value, DataFormat.ForColumn(formats, i)) : -1;
            BinaryPrimitives.WriteInt32BigEndian(span.Slice(pos), written);
            pos += 4 + Math.Max(0, written);
        }

        End(writer, pos, total);

        static object? ValueAt(IReadOnlyList<object?> values, int i) => i < values.Count ? values[i] : null;
    }

    public static void WriteCommandComplete(IBufferWriter<byte> writer, string tag)
        => WriteCStringMessage(writer, (byte)BackendMessageCode.CommandComplete, tag);

    public static void WriteEmptyQueryResponse(IBufferWriter<byte> writer)
        => WriteEmpty(writer, (byte)BackendMessageCode.EmptyQueryResponse);

    public static void WriteParseComplete(IBufferWriter<byte> writer)
        => WriteEmpty(writer, (byte)BackendMessageCode.ParseComplete);

    public static void WriteBindComplete(IBufferWriter<byte> writer)
        => WriteEmpty(writer, (byte)BackendMessageCode.BindComplete);

    public static void WriteCloseComplete(IBufferWriter<byte> writer)
        => WriteEmpty(writer, (byte)BackendMessageCode.CloseComplete);

    public static void WriteNoData(IBufferWriter<byte> writer)
        => WriteEmpty(writer, (byte)BackendMessageCode.NoData);

    /// <summary>Execute stopped at its row limit; the portal can be executed again for more.</summary>
    public static void WritePortalSuspended(IBufferWriter<byte> writer)
        => WriteEmpty(writer, (byte)BackendMessageCode.PortalSuspended);

    /// <summary>ParameterDescription with every parameter typed as <paramref name="typeOids"/>.</summary>
    public static void WriteParameterDescription(IBufferWriter<byte> writer, IReadOnlyList<int> typeOids)
    {
        var count = CheckUInt16Count(typeOids.Count, nameof(typeOids));
        var span = Begin(writer, (byte)BackendMessageCode.ParameterDescription, 2 + (count * 4), out var total);
        WriteInt32List(span.Slice(HeaderSize), typeOids);
        End(writer, total, total);
    }

    // ---- frontend messages (proxy → server)

    /// <summary>A protocol 3.0 StartupMessage; the caller puts "user" (and usually "database") in the parameters.</summary>
    public static void WriteStartupMessage(IBufferWriter<byte> writer, IReadOnlyList<KeyValuePair<string, string>> parameters)
    {
        var length = 8 + 1;
        for (var i = 0; i < parameters.Count; i++)
        {
            var (name, value) = parameters[i];
            if (name.Length == 0)
            {
                throw new ArgumentException("A startup parameter name cannot be empty.", nameof(parameters));
            }

            length = checked(length + CStringLength(name) + CStringLength(value));
        }

        var span = writer.GetSpan(length);
        BinaryPrimitives.WriteInt32BigEndian(span, length);
        BinaryPrimitives.WriteInt32BigEndian(span.Slice(4), StartupPacket.ProtocolVersion30);
        var pos = 8;
        for (var i = 0; i < parameters.Count; i++)
        {
            var (name, value) = parameters[i];
            pos += WriteCString(span.Slice(pos), name);
            pos += WriteCString(span.Slice(pos), value);
        }

        span[pos++] = 0;
        End(writer, pos, length);
    }

    public static void WriteSslRequest(IBufferWriter<byte> writer)
    {
        var span = writer.GetSpan(8);
        BinaryPrimitives.WriteInt32BigEndian(span, 8);
        BinaryPrimitives.WriteInt32BigEndian(span.Slice(4), StartupPacketReader.SslRequestCode);
        writer.Advance(8);
    }

    public static void WriteCancelRequest(IBufferWriter<byte> writer, int processId, int secretKey)
    {
        var span = writer.GetSpan(16);
        BinaryPrimitives.WriteInt32BigEndian(span, 16);
        BinaryPrimitives.WriteInt32BigEndian(span.Slice(4), StartupPacketReader.CancelRequestCode);
        BinaryPrimitives.WriteInt32BigEndian(span.Slice(8), processId);
        BinaryPrimitives.WriteInt32BigEndian(span.Slice(12), secretKey);
        writer.Advance(16);
    }

    public static void WritePasswordMessage(IBufferWriter<byte> writer, string password)
        => WriteCStringMessage(writer, (byte)FrontendMessageCode.Password, password);

    public static void WriteSaslInitialResponse(IBufferWriter<byte> writer, string mechanism, ReadOnlySpan<byte> data)
    {
        var payload = checked(CStringLength(mechanism) + 4 + data.Length);
        var span = Begin(writer, (byte)FrontendMessageCode.Password, payload, out var total);
        var pos = HeaderSize;
        pos += WriteCString(span.Slice(pos), mechanism);
        BinaryPrimitives.WriteInt32BigEndian(span.Slice(pos), data.Length);
        pos += 4;
        data.CopyTo(span.Slice(pos));
        pos += data.Length;
        End(writer, pos, total);
    }

    public static void WriteSaslResponse(IBufferWriter<byte> writer, ReadOnlySpan<byte> data)
    {
        var span = Begin(writer, (byte)FrontendMessageCode.Password, data.Length, out var total);
        data.CopyTo(span.Slice(HeaderSize));
        End(writer, total, total);
    }

    public static void WriteQuery(IBufferWriter<byte> writer, string sql)
        => WriteCStringMessage(writer, (byte)FrontendMessageCode.Query, sql);

    public static void WriteParse(IBufferWriter<byte> writer, string statementName, string query, IReadOnlyList<int> parameterTypes)
    {
        var count = CheckUInt16Count(parameterTypes.Count, nameof(parameterTypes));
        var payload = checked(CStringLength(statementName) + CStringLength(query) + 2 + (count * 4));
        var span = Begin(writer, (byte)FrontendMessageCode.Parse, payload, out var total);
        var pos = HeaderSize;
        pos += WriteCString(span.Slice(pos), statementName);
        pos += WriteCString(span.Slice(pos), query);
        pos += WriteInt32List(span.Slice(pos), parameterTypes);
        End(writer, pos, total);
    }

    /// <summary>Close of a statement (<paramref name="kind"/> 'S') or a portal ('P').</summary>
    public static void WriteClose(IBufferWriter<byte> writer, byte kind, string name)
        => WriteTargetedMessage(writer, (byte)FrontendMessageCode.Close, kind, name);

    /// <summary>Describe of a statement (<paramref name="kind"/> 'S') or a portal ('P').</summary>
    public static void WriteDescribe(IBufferWriter<byte> writer, byte kind, string name)
        => WriteTargetedMessage(writer, (byte)FrontendMessageCode.Describe, kind, name);

    /// <summary>
    /// The start of a Bind whose statement is renamed: header and both names; the caller copies the rest of the
    /// original message (<paramref name="restLength"/> bytes: formats, parameters, result formats) after it.
    /// </summary>
    public static void WriteBindPrefix(IBufferWriter<byte> writer, string portal, string statement, int restLength)
    {
        var prefix = checked(CStringLength(portal) + CStringLength(statement));
        var span = writer.GetSpan(HeaderSize + prefix);
        span[0] = (byte)FrontendMessageCode.Bind;
        BinaryPrimitives.WriteInt32BigEndian(span.Slice(1), checked(4 + prefix + restLength));
        var pos = HeaderSize + WriteCString(span.Slice(HeaderSize), portal);
        pos += WriteCString(span.Slice(pos), statement);
        writer.Advance(pos);
    }

    /// <summary>A Bind with no parameters and text results.</summary>
    public static void WriteBind(IBufferWriter<byte> writer, string portal, string statement)
    {
        const int Counts = 2 + 2 + 2;
        WriteBindPrefix(writer, portal, statement, Counts);
        writer.GetSpan(Counts)[..Counts].Clear();
        writer.Advance(Counts);
    }

    /// <summary>A Bind with text parameters (null = SQL NULL) and text results.</summary>
    public static void WriteBind(IBufferWriter<byte> writer, string portal, string statement, IReadOnlyList<string?> textParameters)
    {
        ArgumentNullException.ThrowIfNull(textParameters);
        var count = CheckUInt16Count(textParameters.Count, nameof(textParameters));
        var rest = 2 + 2 + 2;
        foreach (var value in textParameters)
        {
            rest = checked(rest + 4 + (value is null ? 0 : ProtocolEncoding.Strict.GetByteCount(value)));
        }

        WriteBindPrefix(writer, portal, statement, rest);
        var span = writer.GetSpan(rest);
        BinaryPrimitives.WriteInt16BigEndian(span, 0); // no parameter format codes: all text
        BinaryPrimitives.WriteUInt16BigEndian(span.Slice(2), (ushort)count);
        var pos = 4;
        foreach (var value in textParameters)
        {
            if (value is null)
            {
                BinaryPrimitives.WriteInt32BigEndian(span.Slice(pos), -1);
                pos += 4;
                continue;
            }

            var length = ProtocolEncoding.Strict.GetBytes(value, span.Slice(pos + 4));
            BinaryPrimitives.WriteInt32BigEndian(span.Slice(pos), length);
            pos += 4 + length;
        }

        BinaryPrimitives.WriteInt16BigEndian(span.Slice(pos), 0); // no result format codes: all text
        writer.Advance(pos + 2);
    }

    /// <summary>Execute of a portal; <paramref name="maxRows"/> 0 means all rows.</summary>
    public static void WriteExecute(IBufferWriter<byte> writer, string portal, int maxRows = 0)
    {
        var payload = checked(CStringLength(portal) + 4);
        var span = Begin(writer, (byte)FrontendMessageCode.Execute, payload, out var total);
        var pos = HeaderSize + WriteCString(span.Slice(HeaderSize), portal);
        BinaryPrimitives.WriteInt32BigEndian(span.Slice(pos), maxRows);
        End(writer, pos + 4, total);
    }

    private static void WriteTargetedMessage(IBufferWriter<byte> writer, byte code, byte kind, string name)
    {
        if (kind is not ((byte)'S' or (byte)'P'))
        {
            throw new ArgumentOutOfRangeException(nameof(kind), kind, "the target is 'S' (statement) or 'P' (portal).");
        }

        var payload = checked(1 + CStringLength(name));
        var span = Begin(writer, code, payload, out var total);
        span[HeaderSize] = kind;
        var pos = HeaderSize + 1 + WriteCString(span.Slice(HeaderSize + 1), name);
        End(writer, pos, total);
    }

    public static void WriteSync(IBufferWriter<byte> writer)
        => WriteEmpty(writer, (byte)FrontendMessageCode.Sync);

    public static void WriteTerminate(IBufferWriter<byte> writer)
        => WriteEmpty(writer, (byte)FrontendMessageCode.Terminate);

    public static void WriteCopyFail(IBufferWriter<byte> writer, string message)
        => WriteCStringMessage(writer, (byte)FrontendMessageCode.CopyFail, message);

    // ---- helpers

    private static void WriteFields(IBufferWriter<byte> writer, byte code, string severity, string sqlState, string message, string? detail, string? hint)
    {
        // 'S' and 'V' both carry the severity: the proxy's texts are not localized.
        var severityLength = CStringLength(severity);
        var payload = checked(1 + severityLength + 1 + severityLength + 1 + CStringLength(sqlState) + 1 + CStringLength(message) + 1);
        if (detail is not null)
        {
            payload = checked(payload + 1 + CStringLength(detail));
        }

        if (hint is not null)
        {
            payload = checked(payload + 1 + CStringLength(hint));
        }

        var span = Begin(writer, code, payload, out var total);
        var pos = HeaderSize;
        pos += WriteField(span.Slice(pos), (byte)'S', severity);
        pos += WriteField(span.Slice(pos), (byte)'V', severity);
        pos += WriteField(span.Slice(pos), (byte)'C', sqlState);
        pos += WriteField(span.Slice(pos), (byte)'M', message);
        if (detail is not null)
        {
            pos += WriteField(span.Slice(pos), (byte)'D', detail);
        }

        if (hint is not null)
        {
            pos += WriteField(span.Slice(pos), (byte)'H', hint);
        }

        span[pos++] = 0;
        End(writer, pos, total);
    }

    /// <summary>
    /// Counts the whole-word occurrences of <paramref name="find"/> in the field values of <paramref name="fields"/>;
    /// when <paramref name="destination"/> is not empty, also writes the fields there with each one replaced.
    /// </summary>
    private static int ReplaceInFields(ReadOnlySpan<byte> fields, ReadOnlySpan<byte> find, ReadOnlySpan<byte> replace, Span<byte> destination)
    {
        var found = 0;
        var written = 0;
        var copied = 0;
        var pos = 0;
        while (pos < fields.Length && fields[pos] != 0)
        {
            var valueStart = pos + 1;
            var valueLength = fields.Slice(valueStart).IndexOf((byte)0);
            if (valueLength < 0)
            {
                throw new ProtocolViolationException("Malformed ErrorResponse/NoticeResponse message: a field value is not terminated.");
            }

            var value = fields.Slice(valueStart, valueLength);
            for (var at = value.IndexOf(find); at >= 0;)
            {
                var end = at + find.Length;
                var from = at + 1;
                if ((at == 0 || !IsWordByte(value[at - 1])) && (end == value.Length || !IsWordByte(value[end])))
                {
                    from = end;
                    found++;
                    if (!destination.IsEmpty)
                    {
                        var matchStart = valueStart + at;
                        fields[copied..matchStart].CopyTo(destination.Slice(written));
                        written += matchStart - copied;
                        replace.CopyTo(destination.Slice(written));
                        written += replace.Length;
                        copied = matchStart + find.Length;
                    }
                }

                var next = value.Slice(from).IndexOf(find);
                at = next < 0 ? -1 : from + next;
            }

            pos = valueStart + valueLength + 1;
        }

        if (!destination.IsEmpty)
        {
            fields.Slice(copied).CopyTo(destination.Slice(written));
        }

        return found;
    }

    private static bool IsWordByte(byte b) => b is (>= (byte)'a' and <= (byte)'z') or (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'0' and <= (byte)'9') or (byte)'_' or (byte)'$';

    private static int WriteField(Span<byte> destination, byte field, string value)
    {
        destination[0] = field;
        return 1 + WriteCString(destination.Slice(1), value);
    }

    private static void WriteAuthenticationCode(IBufferWriter<byte> writer, AuthenticationRequestType type)
    {
        var span = Begin(writer, (byte)BackendMessageCode.Authentication, 4, out var total);
        BinaryPrimitives.WriteInt32BigEndian(span.Slice(HeaderSize), (int)type);
        End(writer, total, total);
    }

    private static void WriteAuthenticationData(IBufferWriter<byte> writer, AuthenticationRequestType type, ReadOnlySpan<byte> data)
    {
        var span = Begin(writer, (byte)BackendMessageCode.Authentication, checked(4 + data.Length), out var total);
        BinaryPrimitives.WriteInt32BigEndian(span.Slice(HeaderSize), (int)type);
        data.CopyTo(span.Slice(HeaderSize + 4));
        End(writer, total, total);
    }

    private static void WriteCStringMessage(IBufferWriter<byte> writer, byte code, string value)
    {
        var span = Begin(writer, code, CStringLength(value), out var total);
        var pos = HeaderSize + WriteCString(span.Slice(HeaderSize), value);
        End(writer, pos, total);
    }

    private static void WriteEmpty(IBufferWriter<byte> writer, byte code)
    {
        _ = Begin(writer, code, 0, out var total);
        End(writer, total, total);
    }

    private static int WriteInt32List(Span<byte> destination, IReadOnlyList<int> values)
    {
        BinaryPrimitives.WriteInt16BigEndian(destination, (short)(ushort)values.Count);
        var pos = 2;
        for (var i = 0; i < values.Count; i++)
        {
            BinaryPrimitives.WriteInt32BigEndian(destination.Slice(pos), values[i]);
            pos += 4;
        }

        return pos;
    }

    /// <summary>Gets one span for the whole message and writes its type byte and length.</summary>
    private static Span<byte> Begin(IBufferWriter<byte> writer, byte code, int payloadLength, out int total)
    {
        total = checked(payloadLength + HeaderSize);
        var span = writer.GetSpan(total);
        span[0] = code;
        BinaryPrimitives.WriteInt32BigEndian(span.Slice(1), payloadLength + 4);
        return span;
    }

    private static void End(IBufferWriter<byte> writer, int written, int total)
    {
        Debug.Assert(written == total, "A message must be exactly as long as measured.");
        writer.Advance(total);
    }

    private static int CStringLength(string value)
    {
        if (value.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException("The protocol cannot carry a string that contains a NUL character.", nameof(value));
        }

        return checked(ProtocolEncoding.Relaxed.GetByteCount(value) + 1);
    }

    private static int WriteCString(Span<byte> destination, string value)
    {
        var written = ProtocolEncoding.Relaxed.GetBytes(value, destination);
        destination[written] = 0;
        return written + 1;
    }

    private static int CheckInt16Count(int count, string paramName)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, short.MaxValue, paramName);
        return count;
    }

    private static int CheckUInt16Count(int count, string paramName)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, ushort.MaxValue, paramName);
        return count;
    }
}
