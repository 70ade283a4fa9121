using System.Security.Cryptography;

namespace Sluice.Proxy.Peering;

/// <summary>
/// Where the peer id lives in a cancel key. A client echoes its BackendKeyData back in a CancelRequest, on a new
/// connection that a load balancer may give to any instance; the id tells that instance whose session it was. It takes
/// the process id's top 11 bits under the sign bit (so the process id stays positive, like a real PID); the low 20 bits
/// and the whole 32-bit secret key stay random.
/// </summary>
internal static class PeerCancelKeys
{
    public const int MaxPeerId = 2047;

    private const int RandomBits = 20;
    private const int RandomMask = (1 << RandomBits) - 1;

    /// <summary>A fresh process id for this instance: fully random without peering, else carrying <paramref name="peerId"/>.</summary>
    public static int NewProcessId(int peerId)
    {
        if (peerId == 0)
        {
            return RandomNumberGenerator.GetInt32(1, int.MaxValue);
        }

        // Never 0 in the random part, so a key never equals the bare peer prefix.
        return (peerId << RandomBits) | RandomNumberGenerator.GetInt32(1, RandomMask + 1);
    }

    /// <summary>The peer id a process id carries; 0 when it carries none (keys from an instance without peering may read as any id).</summary>
    public static int PeerIdOf(int processId) => processId <= 0 ? 0 : processId >> RandomBits;
}
