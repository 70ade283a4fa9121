namespace Sluice.Protocol.Authentication;

/// <summary>Why a SCRAM exchange step failed, so the proxy can answer with the SQLSTATE PostgreSQL would use.</summary>
public enum ScramFailure
{
    None,

    /// <summary>Malformed message, a mechanism or channel-binding flag that was not offered, a nonce or channel-binding mismatch: 08P01.</summary>
    ProtocolViolation,

    /// <summary>Valid SCRAM the proxy does not implement (authorization identity, mandatory extensions, another channel-binding type): 0A000.</summary>
    NotSupported,

    /// <summary>The client proof does not match the verifier: the password is wrong, 28P01.</summary>
    InvalidProof,
}
