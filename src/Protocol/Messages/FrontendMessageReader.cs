using System.Buffers;

namespace Sluice.Protocol.Messages;

public readonly record struct ParseMessage(string StatementName, string Query, int[] ParameterTypes);

public readonly record struct SaslInitialResponse(string Mechanism, ReadOnlyMemory<byte> Data);

/// <summary>
/// Decoders for the frontend messages the proxy inspects. Each takes the payload only (after the 5-byte header).
/// Malformed payloads throw <see cref="ProtocolViolationException"/>.
/// </summary>
public static class FrontendMessageReader
{
    /// <summary>The SQL text of a simple Query ('Q').</summary>
    public static string ReadQuery(in ReadOnlySequence<byte> payload) => throw new NotImplementedException();

    public static ParseMessage ReadParse(in ReadOnlySequence<byte> payload) => throw new NotImplementedException();

    /// <summary>The leading portal and statement names of a Bind ('B'); the payload may be just a prefix of the message.</summary>
    public static (string Portal, string Statement) ReadBindNames(in ReadOnlySequence<byte> payload) => throw new NotImplementedException();

    /// <summary>Close ('C') and Describe ('D'): 'S' statement or 'P' portal, and the name.</summary>
    public static (byte Kind, string Name) ReadCloseOrDescribe(in ReadOnlySequence<byte> payload) => throw new NotImplementedException();

    /// <summary>A cleartext or md5 PasswordMessage: the NUL-terminated password string.</summary>
    public static string ReadPassword(in ReadOnlySequence<byte> payload) => throw new NotImplementedException();

    public static SaslInitialResponse ReadSaslInitialResponse(in ReadOnlySequence<byte> payload) => throw new NotImplementedException();
}
