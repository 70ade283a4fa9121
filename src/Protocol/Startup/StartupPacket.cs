namespace Sluice.Protocol.Startup;

public enum StartupPacketKind
{
    /// <summary>A StartupMessage (protocol 3.x) with parameters.</summary>
    Startup,
    SslRequest,
    GssEncRequest,
    CancelRequest,
}

/// <summary>The first packet of a connection: untyped, length-prefixed.</summary>
public sealed class StartupPacket
{
    public const int ProtocolVersion30 = 3 << 16;

    public required StartupPacketKind Kind { get; init; }

    /// <summary>Major in the high 16 bits, minor in the low 16 (StartupMessage only).</summary>
    public int ProtocolVersion { get; init; }

    public int MajorVersion => ProtocolVersion >> 16;

    public int MinorVersion => ProtocolVersion & 0xFFFF;

    /// <summary>Startup parameters in the order sent, except protocol options (names starting "_pq_.").</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Parameters { get; init; } = [];

    /// <summary>Names of "_pq_." protocol options the client asked for; all are unsupported here.</summary>
    public IReadOnlyList<string> ProtocolOptions { get; init; } = [];

    /// <summary>CancelRequest only.</summary>
    public int CancelProcessId { get; init; }

    /// <summary>CancelRequest only.</summary>
    public int CancelSecretKey { get; init; }

    public string? GetParameter(string name)
    {
        foreach (var (key, value) in Parameters)
        {
            if (key == name)
            {
                return value;
            }
        }

        return null;
    }
}
