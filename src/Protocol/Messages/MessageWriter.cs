using System.Buffers;

namespace Sluice.Protocol.Messages;

/// <summary>A column of a RowDescription the proxy makes itself (admin console, SHOW answers).</summary>
public readonly record struct ColumnDescription(string Name, int TypeOid = ColumnDescription.TextOid, short TypeSize = -1)
{
    public const int TextOid = 25;
    public const int Int8Oid = 20;
    public const int Int4Oid = 23;
}

/// <summary>
/// Writes the messages the proxy makes itself, straight into an <see cref="IBufferWriter{T}"/> (a PipeWriter), with
/// no intermediate arrays. Strings are UTF-8, NUL-terminated as the protocol wants.
/// </summary>
public static class MessageWriter
{
    // ---- backend messages (proxy → client)
    public static void WriteErrorResponse(IBufferWriter<byte> writer, string severity, string sqlState, string message, string? detail = null, string? hint = null) => throw new NotImplementedException();

    public static void WriteNoticeResponse(IBufferWriter<byte> writer, string severity, string sqlState, string message) => throw new NotImplementedException();

    public static void WriteAuthenticationOk(IBufferWriter<byte> writer) => throw new NotImplementedException();

    public static void WriteAuthenticationCleartextPassword(IBufferWriter<byte> writer) => throw new NotImplementedException();

    public static void WriteAuthenticationMd5Password(IBufferWriter<byte> writer, ReadOnlySpan<byte> salt) => throw new NotImplementedException();

    public static void WriteAuthenticationSasl(IBufferWriter<byte> writer, IReadOnlyList<string> mechanisms) => throw new NotImplementedException();

    public static void WriteAuthenticationSaslContinue(IBufferWriter<byte> writer, ReadOnlySpan<byte> data) => throw new NotImplementedException();

    public static void WriteAuthenticationSaslFinal(IBufferWriter<byte> writer, ReadOnlySpan<byte> data) => throw new NotImplementedException();

    public static void WriteParameterStatus(IBufferWriter<byte> writer, string name, string value) => throw new NotImplementedException();

    public static void WriteBackendKeyData(IBufferWriter<byte> writer, int processId, int secretKey) => throw new NotImplementedException();

    public static void WriteReadyForQuery(IBufferWriter<byte> writer, TransactionStatus status) => throw new NotImplementedException();

    /// <summary>Answers a StartupMessage asking for 3.x with x above the newest minor supported, or for _pq_ options.</summary>
    public static void WriteNegotiateProtocolVersion(IBufferWriter<byte> writer, int newestMinorVersion, IReadOnlyList<string> unsupportedOptions) => throw new NotImplementedException();

    /// <summary>The single-byte answer to SSLRequest / GSSENCRequest: 'S' or 'N' (or 'G').</summary>
    public static void WriteSingleByte(IBufferWriter<byte> writer, byte value) => throw new NotImplementedException();

    public static void WriteRowDescription(IBufferWriter<byte> writer, IReadOnlyList<ColumnDescription> columns) => throw new NotImplementedException();

    /// <summary>A DataRow of text values; null is SQL NULL.</summary>
    public static void WriteDataRow(IBufferWriter<byte> writer, IReadOnlyList<string?> values) => throw new NotImplementedException();

    public static void WriteCommandComplete(IBufferWriter<byte> writer, string tag) => throw new NotImplementedException();

    public static void WriteEmptyQueryResponse(IBufferWriter<byte> writer) => throw new NotImplementedException();

    public static void WriteParseComplete(IBufferWriter<byte> writer) => throw new NotImplementedException();

    public static void WriteBindComplete(IBufferWriter<byte> writer) => throw new NotImplementedException();

    public static void WriteCloseComplete(IBufferWriter<byte> writer) => throw new NotImplementedException();

    public static void WriteNoData(IBufferWriter<byte> writer) => throw new NotImplementedException();

    /// <summary>ParameterDescription with every parameter typed as <paramref name="typeOids"/>.</summary>
    public static void WriteParameterDescription(IBufferWriter<byte> writer, IReadOnlyList<int> typeOids) => throw new NotImplementedException();

    // ---- frontend messages (proxy → server)
    public static void WriteStartupMessage(IBufferWriter<byte> writer, IReadOnlyList<KeyValuePair<string, string>> parameters) => throw new NotImplementedException();

    public static void WriteSslRequest(IBufferWriter<byte> writer) => throw new NotImplementedException();

    public static void WriteCancelRequest(IBufferWriter<byte> writer, int processId, int secretKey) => throw new NotImplementedException();

    public static void WritePasswordMessage(IBufferWriter<byte> writer, string password) => throw new NotImplementedException();

    public static void WriteSaslInitialResponse(IBufferWriter<byte> writer, string mechanism, ReadOnlySpan<byte> data) => throw new NotImplementedException();

    public static void WriteSaslResponse(IBufferWriter<byte> writer, ReadOnlySpan<byte> data) => throw new NotImplementedException();

    public static void WriteQuery(IBufferWriter<byte> writer, string sql) => throw new NotImplementedException();

    public static void WriteParse(IBufferWriter<byte> writer, string statementName, string query, IReadOnlyList<int> parameterTypes) => throw new NotImplementedException();

    public static void WriteClose(IBufferWriter<byte> writer, byte kind, string name) => throw new NotImplementedException();

    public static void WriteSync(IBufferWriter<byte> writer) => throw new NotImplementedException();

    public static void WriteCopyFail(IBufferWriter<byte> writer, string message) => throw new NotImplementedException();

    public static void WriteTerminate(IBufferWriter<byte> writer) => throw new NotImplementedException();
}
