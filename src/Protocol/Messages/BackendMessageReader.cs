using System.Buffers;
using Sluice.Protocol.Internal;

namespace Sluice.Protocol.Messages;

/// <summary>An AuthenticationXxx ('R') request from a server.</summary>
public readonly record struct AuthenticationRequest(AuthenticationRequestType Type, ReadOnlyMemory<byte> Data)
{
    /// <summary>For Sasl: the mechanism names; empty otherwise.</summary>
    public IReadOnlyList<string> Mechanisms { get; init; } = [];
}

/// <summary>
/// Decoders for the few backend messages the proxy inspects. Each takes the payload only (after the 5-byte header),
/// which may span several segments. Malformed payloads throw <see cref="ProtocolViolationException"/>.
/// Text is decoded as UTF-8 with invalid bytes replaced (the proxy only inspects it).
/// </summary>
public static class BackendMessageReader
{
    public static TransactionStatus ReadReadyForQuery(in ReadOnlySequence<byte> payload)
    {
        if (payload.Length != 1)
        {
            throw new ProtocolViolationException($"Malformed ReadyForQuery message: payload is {payload.Length} bytes, expected 1.");
        }

        // The first segment may be empty; the reader finds the byte wherever it is.
        var reader = new SequenceReader<byte>(payload);
        reader.TryRead(out var status);
        return status switch
        {
            (byte)'I' => TransactionStatus.Idle,
            (byte)'T' => TransactionStatus.InTransaction,
            (byte)'E' => TransactionStatus.Failed,
            _ => throw new ProtocolViolationException($"Malformed ReadyForQuery message: unknown transaction status 0x{status:X2}."),
        };
    }

    public static (string Name, string Value) ReadParameterStatus(in ReadOnlySequence<byte> payload)
    {
        var reader = new PayloadReader(payload, "ParameterStatus");
        var name = reader.ReadCString("parameter name");
        var value = reader.ReadCString("parameter value");
        reader.EnsureEnd();
        return (name, value);
    }

    /// <summary>Protocol 3.0 BackendKeyData: two Int32s.</summary>
    public static (int ProcessId, int SecretKey) ReadBackendKeyData(in ReadOnlySequence<byte> payload)
    {
        var reader = new PayloadReader(payload, "BackendKeyData");
        var processId = reader.ReadInt32();
        var secretKey = reader.ReadInt32();
        reader.EnsureEnd();
        return (processId, secretKey);
    }

    /// <summary>
    /// ErrorResponse and NoticeResponse share the field format. Unknown field types are skipped, as the protocol
    /// asks; the list must end with its zero byte.
    /// </summary>
    public static ErrorFields ReadErrorFields(in ReadOnlySequence<byte> payload)
    {
        var reader = new PayloadReader(payload, "ErrorResponse/NoticeResponse");
        string? severity = null;
        string? nonLocalizedSeverity = null;
        string sqlState = "";
        string message = "";
        string? detail = null;
        string? hint = null;
        while (true)
        {
            var field = reader.ReadByte();
            if (field == 0)
            {
                break;
            }

            var value = reader.ReadCString("field value");
            switch (field)
            {
                case (byte)'S':
                    severity = value;
                    break;
                case (byte)'V':
                    nonLocalizedSeverity = value;
                    break;
                case (byte)'C':
                    sqlState = value;
                    break;
                case (byte)'M':
                    message = value;
                    break;
                case (byte)'D':
                    detail = value;
                    break;
                case (byte)'H':
                    hint = value;
                    break;
                default:
                    break;
            }
        }

        reader.EnsureEnd();
        return new ErrorFields
        {
            Severity = nonLocalizedSeverity ?? severity ?? "",
            SqlState = sqlState,
            Message = message,
            Detail = detail,
            Hint = hint,
        };
    }

    /// <summary>
    /// The request type and its data: the 4-byte salt for Md5Password, the SASL data for SaslContinue/SaslFinal
    /// and GssContinue, the mechanism list (in <see cref="AuthenticationRequest.Mechanisms"/>) for Sasl.
    /// </summary>
    public static AuthenticationRequest ReadAuthentication(in ReadOnlySequence<byte> payload)
    {
        var reader = new PayloadReader(payload, "Authentication");
        var code = reader.ReadInt32();
        var type = (AuthenticationRequestType)code;
        switch (type)
        {
            case AuthenticationRequestType.Ok:
            case AuthenticationRequestType.KerberosV5:
            case AuthenticationRequestType.CleartextPassword:
            case AuthenticationRequestType.Gss:
            case AuthenticationRequestType.Sspi:
                reader.EnsureEnd();
                return new AuthenticationRequest(type, ReadOnlyMemory<byte>.Empty);
            case AuthenticationRequestType.Md5Password:
                var salt = reader.ReadBytes(4, "MD5 salt");
                reader.EnsureEnd();
                return new AuthenticationRequest(type, salt);
            case AuthenticationRequestType.Sasl:
                return new AuthenticationRequest(type, ReadOnlyMemory<byte>.Empty) { Mechanisms = ReadMechanisms(ref reader) };
            case AuthenticationRequestType.GssContinue:
            case AuthenticationRequestType.SaslContinue:
            case AuthenticationRequestType.SaslFinal:
                return new AuthenticationRequest(type, reader.ReadRest());
            default:
                throw reader.Violation($"unknown authentication request type {code}");
        }
    }

    /// <summary>The command tag of CommandComplete, e.g. "SELECT 1".</summary>
    public static string ReadCommandComplete(in ReadOnlySequence<byte> payload)
    {
        var reader = new PayloadReader(payload, "CommandComplete");
        var tag = reader.ReadCString("command tag");
        reader.EnsureEnd();
        return tag;
    }

    /// <summary>The columns of a DataRow in text format; null for SQL NULL.</summary>
    public static string?[] ReadDataRowText(in ReadOnlySequence<byte> payload)
    {
        var reader = new PayloadReader(payload, "DataRow");
        var count = reader.ReadUInt16();
        var values = new string?[count];
        for (var i = 0; i < count; i++)
        {
            var length = reader.ReadInt32();
            if (length < -1 || length > reader.Remaining)
            {
                throw reader.Violation($"column {i} has an invalid length {length}");
            }

            values[i] = length == -1 ? null : ProtocolEncoding.Relaxed.GetString(reader.ReadBytes(length, "column value"));
        }

        reader.EnsureEnd();
        return values;
    }

    private static List<string> ReadMechanisms(ref PayloadReader reader)
    {
        var mechanisms = new List<string>(2);
        while (true)
        {
            var mechanism = reader.ReadCString("SASL mechanism name", strict: true);
            if (mechanism.Length == 0)
            {
                break;
            }

            mechanisms.Add(mechanism);
        }

        reader.EnsureEnd();
        if (mechanisms.Count == 0)
        {
            throw reader.Violation("AuthenticationSASL lists no mechanism");
        }

        return mechanisms;
    }
}
