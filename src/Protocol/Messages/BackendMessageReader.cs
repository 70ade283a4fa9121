using System.Buffers;

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
/// </summary>
public static class BackendMessageReader
{
    public static TransactionStatus ReadReadyForQuery(in ReadOnlySequence<byte> payload) => throw new NotImplementedException();

    public static (string Name, string Value) ReadParameterStatus(in ReadOnlySequence<byte> payload) => throw new NotImplementedException();

    public static (int ProcessId, int SecretKey) ReadBackendKeyData(in ReadOnlySequence<byte> payload) => throw new NotImplementedException();

    /// <summary>ErrorResponse and NoticeResponse share the field format.</summary>
    public static ErrorFields ReadErrorFields(in ReadOnlySequence<byte> payload) => throw new NotImplementedException();

    public static AuthenticationRequest ReadAuthentication(in ReadOnlySequence<byte> payload) => throw new NotImplementedException();

    /// <summary>The command tag of CommandComplete, e.g. "SELECT 1".</summary>
    public static string ReadCommandComplete(in ReadOnlySequence<byte> payload) => throw new NotImplementedException();
}
