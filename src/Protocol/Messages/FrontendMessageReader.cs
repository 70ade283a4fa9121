using System.Buffers;
using Sluice.Protocol.Internal;

namespace Sluice.Protocol.Messages;

public readonly record struct ParseMessage(string StatementName, string Query, int[] ParameterTypes);

/// <summary>
/// A Bind as a proxy that answers it itself needs it: the names, how many parameter values it carries (the values are
/// skipped, not kept), and the result format codes (see <see cref="DataFormat.ForColumn"/>).
/// </summary>
public readonly record struct BindMessage(string Portal, string Statement, int ParameterCount, short[] ResultFormats);

public readonly record struct SaslInitialResponse(string Mechanism, ReadOnlyMemory<byte> Data);

/// <summary>
/// Decoders for the frontend messages the proxy inspects. Each takes the payload only (after the 5-byte header).
/// Malformed payloads throw <see cref="ProtocolViolationException"/>. SQL text and names are decoded as UTF-8 with
/// invalid bytes replaced (a client may use another client_encoding); passwords and SASL mechanism names must be
/// valid UTF-8.
/// </summary>
public static class FrontendMessageReader
{
    /// <summary>The SQL text of a simple Query ('Q').</summary>
    public static string ReadQuery(in ReadOnlySequence<byte> payload)
    {
        var reader = new PayloadReader(payload, "Query");
        var query = reader.ReadCString("query string");
        reader.EnsureEnd();
        return query;
    }

    public static ParseMessage ReadParse(in ReadOnlySequence<byte> payload)
    {
        var reader = new PayloadReader(payload, "Parse");
        var name = reader.ReadCString("statement name");
        var query = reader.ReadCString("query string");

        // PostgreSQL reads the count as unsigned: up to 65535 parameters.
        int count = reader.ReadUInt16();
        if (reader.Remaining < (long)count * 4)
        {
            throw reader.Violation($"declares {count} parameter types but only {reader.Remaining} bytes remain");
        }

        var types = count == 0 ? [] : new int[count];
        for (var i = 0; i < types.Length; i++)
        {
            types[i] = reader.ReadInt32();
        }

        reader.EnsureEnd();
        return new ParseMessage(name, query, types);
    }

    /// <summary>The leading portal and statement names of a Bind ('B'); the payload may be just a prefix of the message.</summary>
    public static (string Portal, string Statement) ReadBindNames(in ReadOnlySequence<byte> payload)
    {
        if (!TryReadBindNames(payload, out var portal, out var statement))
        {
            throw new ProtocolViolationException("Malformed Bind message: the portal or statement name has no NUL terminator.");
        }

        return (portal, statement);
    }

    /// <summary>
    /// Like <see cref="ReadBindNames"/>, but false when <paramref name="payloadPrefix"/> ends before both names do,
    /// so a caller holding only the first bytes of a large Bind can wait for more.
    /// </summary>
    public static bool TryReadBindNames(in ReadOnlySequence<byte> payloadPrefix, out string portal, out string statement)
    {
        var reader = new PayloadReader(payloadPrefix, "Bind");
        statement = "";
        return reader.TryReadCString("portal name", strict: false, out portal)
            && reader.TryReadCString("statement name", strict: false, out statement);
    }

    /// <summary>
    /// A whole Bind ('B'): names, parameter format codes and values (skipped), result format codes — each 0 (text) or
    /// 1 (binary). Counts are unsigned 16-bit, as PostgreSQL reads them; a parameter length below -1 (NULL) is malformed.
    /// </summary>
    public static BindMessage ReadBind(in ReadOnlySequence<byte> payload)
    {
        var reader = new PayloadReader(payload, "Bind");
        var portal = reader.ReadCString("portal name");
        var statement = reader.ReadCString("statement name");
        reader.Skip(2L * reader.ReadUInt16(), "parameter format codes");
        int parameters = reader.ReadUInt16();
        for (var i = 0; i < parameters; i++)
        {
            var length = reader.ReadInt32();
            if (length < -1)
            {
                throw reader.Violation($"parameter {i + 1} has length {length}");
            }

            reader.Skip(Math.Max(length, 0), "a parameter value");
        }

        int count = reader.ReadUInt16();
        var resultFormats = count == 0 ? [] : new short[count];
        for (var i = 0; i < resultFormats.Length; i++)
        {
            resultFormats[i] = (short)reader.ReadUInt16();
            if (resultFormats[i] is not (DataFormat.Text or DataFormat.Binary))
            {
                throw reader.Violation($"unknown result format code {resultFormats[i]}");
            }
        }

        reader.EnsureEnd();
        return new BindMessage(portal, statement, parameters, resultFormats);
    }

    /// <summary>Execute ('E'): the portal, and the most rows to return (0 = all).</summary>
    public static (string Portal, int MaxRows) ReadExecute(in ReadOnlySequence<byte> payload)
    {
        var reader = new PayloadReader(payload, "Execute");
        var portal = reader.ReadCString("portal name");
        var maxRows = reader.ReadInt32();
        reader.EnsureEnd();
        return (portal, maxRows);
    }

    /// <summary>Close ('C') and Describe ('D'): 'S' statement or 'P' portal, and the name.</summary>
    public static (byte Kind, string Name) ReadCloseOrDescribe(in ReadOnlySequence<byte> payload)
    {
        var reader = new PayloadReader(payload, "Close/Describe");
        var kind = reader.ReadByte();
        if (kind is not ((byte)'S' or (byte)'P'))
        {
            throw reader.Violation($"unknown target type 0x{kind:X2}, expected 'S' or 'P'");
        }

        var name = reader.ReadCString("name");
        reader.EnsureEnd();
        return (kind, name);
    }

    /// <summary>A cleartext or md5 PasswordMessage: the NUL-terminated password string.</summary>
    public static string ReadPassword(in ReadOnlySequence<byte> payload)
    {
        var reader = new PayloadReader(payload, "PasswordMessage");
        var password = reader.ReadCString("password", strict: true);
        reader.EnsureEnd();
        return password;
    }

    /// <summary>Mechanism name, then the client-first-message (length -1 means none, read as empty).</summary>
    public static SaslInitialResponse ReadSaslInitialResponse(in ReadOnlySequence<byte> payload)
    {
        var reader = new PayloadReader(payload, "SASLInitialResponse");
        var mechanism = reader.ReadCString("mechanism name", strict: true);
        var length = reader.ReadInt32();
        if (length < -1)
        {
            throw reader.Violation($"negative data length {length}");
        }

        var data = length == -1 ? [] : reader.ReadBytes(length, "initial response");
        reader.EnsureEnd();
        return new SaslInitialResponse(mechanism, data);
    }
}
