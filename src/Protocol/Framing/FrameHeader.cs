namespace Sluice.Protocol.Framing;

/// <summary>
/// The 5-byte header of a regular (post-startup) message: a type byte and a big-endian Int32 length that
/// counts itself but not the type byte.
/// </summary>
public readonly record struct FrameHeader(byte Code, int Length)
{
    public const int Size = 5;

    /// <summary>Bytes of payload after the header.</summary>
    public int PayloadLength => Length - 4;

    /// <summary>Bytes of the whole frame including the type byte.</summary>
    public long FrameLength => (long)Length + 1;

    /// <summary>
    /// A message type byte for an error text: 'Q' when printable ASCII, else 0x00. Error texts travel as C strings, so
    /// a NUL (or any control byte) from a peer must never be copied into one as it is.
    /// </summary>
    public static string Describe(byte code) => code is >= 0x21 and < 0x7f
        ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"'{(char)code}'")
        : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"0x{code:X2}");
}

/// <summary>Outcome of a non-throwing read from a byte sequence.</summary>
public enum ReadStatus
{
    /// <summary>The item was read.</summary>
    Ok,
    /// <summary>Not enough bytes yet; nothing was consumed.</summary>
    NeedMoreData,
    /// <summary>The bytes break the protocol (bad length, bad content); the connection must be refused with 08P01.</summary>
    Invalid,
}
