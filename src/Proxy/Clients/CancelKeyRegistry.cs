using System.Collections.Concurrent;
using System.Security.Cryptography;
using Sluice.Proxy.Peering;

namespace Sluice.Proxy.Clients;

/// <summary>
/// The backend keys the proxy hands to its clients. A CancelRequest carries one of these; the registry finds the
/// session it belongs to, which knows which server (and which server key) runs the client's query right now.
/// </summary>
internal sealed class CancelKeyRegistry
{
    private readonly ConcurrentDictionary<int, (int SecretKey, ClientSession Session)> _sessions = new();

    /// <summary>[server] peer_id at start-up (0 = no peering): every key handed out carries it.</summary>
    public int PeerId { get; init; }

    public (int ProcessId, int SecretKey) Register(ClientSession session)
    {
        var secret = RandomNumberGenerator.GetInt32(int.MinValue, int.MaxValue);
        while (true)
        {
            // Positive, like a real PID, so tools that print it are not confused.
            var processId = PeerCancelKeys.NewProcessId(PeerId);
            if (_sessions.TryAdd(processId, (secret, session)))
            {
                return (processId, secret);
            }
        }
    }

    public void Unregister(int processId) => _sessions.TryRemove(processId, out _);

    public ClientSession? Find(int processId, int secretKey)
    {
        if (!_sessions.TryGetValue(processId, out var entry))
        {
            return null;
        }

        // Constant time, so a guesser learns nothing from how fast a wrong key is refused.
        Span<byte> expected = stackalloc byte[4];
        Span<byte> given = stackalloc byte[4];
        BitConverter.TryWriteBytes(expected, entry.SecretKey);
        BitConverter.TryWriteBytes(given, secretKey);
        return CryptographicOperations.FixedTimeEquals(expected, given) ? entry.Session : null;
    }

    public int Count => _sessions.Count;

    public ICollection<(int SecretKey, ClientSession Session)> Sessions => _sessions.Values;
}
