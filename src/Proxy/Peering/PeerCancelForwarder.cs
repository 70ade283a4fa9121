using System.Collections.Concurrent;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Sluice.Protocol.Messages;
using Sluice.Proxy.Configuration;
using Sluice.Proxy.Transport;

namespace Sluice.Proxy.Peering;

/// <summary>
/// Passes a CancelRequest whose key carries another instance's peer id on to that instance, as PgBouncer's peering
/// does: behind a load balancer the cancel's new connection often lands on an instance that does not hold the query.
/// An unknown or unreachable peer is logged and the request dropped; nobody else is affected (each forward is its own
/// short connection, bounded by <see cref="ForwardTimeout"/>).
/// </summary>
internal sealed partial class PeerCancelForwarder
{
    /// <summary>Connecting, sending and seeing the peer close: a cancel later than this is of no use anyway.</summary>
    public static readonly TimeSpan ForwardTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Forwards in flight at once. Bounds what a misconfiguration can do: two instances that each believe the other owns
    /// an id would pass one request back and forth, each hop a new connection; past this many the chain is dropped.
    /// </summary>
    private const int MaxInFlight = 64;

    private readonly ConcurrentDictionary<int, PeerCounters> _counters = new();
    private readonly ILogger _logger;
    private int _inFlight;

    public PeerCancelForwarder(ILogger<PeerCancelForwarder> logger)
    {
        _logger = logger;
    }

    /// <summary>The peer whose key this is, when it is another instance's (null: this instance's own, or no peering here).</summary>
    public static int? OwnerOf(int processId, int ownPeerId)
    {
        if (ownPeerId == 0)
        {
            return null;
        }

        var peerId = PeerCancelKeys.PeerIdOf(processId);
        return peerId == ownPeerId ? null : peerId;
    }

    /// <summary>Sends the request to peer <paramref name="peerId"/>; never throws.</summary>
    public async Task ForwardAsync(ProxyConfig config, int peerId, int processId, int secretKey, CancellationToken cancellationToken)
    {
        if (config.FindPeer(peerId) is not { } peer)
        {
            // Not counted: made-up ids must not grow the counters.
            LogUnknownPeer(_logger, peerId);
            return;
        }

        var counters = Counters(peerId);
        if (Interlocked.Increment(ref _inFlight) > MaxInFlight)
        {
            Interlocked.Decrement(ref _inFlight);
            counters.Failed();
            LogPeerUnreachable(_logger, peerId, $"{peer.Host}:{peer.Port}", $"{MaxInFlight} forwards already in flight (do two instances share a peer_id?)");
            return;
        }

        try
        {
            await SendAsync(peer, processId, secretKey, counters, cancellationToken);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    private async Task SendAsync(PeerConfig peer, int processId, int secretKey, PeerCounters counters, CancellationToken cancellationToken)
    {
        var peerId = peer.Id;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ForwardTimeout);
        try
        {
            await using var connection = await DuplexConnection.ConnectAsync(peer.Host, peer.Port, timeout.Token);
            MessageWriter.WriteCancelRequest(connection.Output, processId, secretKey);
            await connection.Output.FlushAsync(timeout.Token);

            // The peer closes once it has acted on the request: waiting for that keeps "cancel delivered" before the
            // close here, and tells a peer that accepted but never answered from one that did.
            while (true)
            {
                var result = await connection.Input.ReadAsync(timeout.Token);
                connection.Input.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted)
                {
                    break;
                }
            }

            counters.Forwarded();
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            counters.Failed();
            LogPeerUnreachable(_logger, peerId, $"{peer.Host}:{peer.Port}", ex is OperationCanceledException ? "timed out" : ex.Message);
        }
    }

    /// <summary>SHOW PEERS: every configured peer, with what was forwarded to it since start.</summary>
    public IEnumerable<(PeerConfig Peer, long Forwarded, long Failed)> Report(ProxyConfig config) =>
        config.Peers.Select(peer => _counters.TryGetValue(peer.Id, out var c) ? (peer, c.ForwardedCount, c.FailedCount) : (peer, 0L, 0L));

    private PeerCounters Counters(int peerId) => _counters.GetOrAdd(peerId, static _ => new PeerCounters());

    [LoggerMessage(Level = LogLevel.Warning, Message = "cancel request for peer {PeerId} dropped: no [[peers]] entry has that id")]
    private static partial void LogUnknownPeer(ILogger logger, int peerId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "cancel request for peer {PeerId} at {Address} dropped: {Reason}")]
    private static partial void LogPeerUnreachable(ILogger logger, int peerId, string address, string reason);

    private sealed class PeerCounters
    {
        private long _forwarded;
        private long _failed;

        public long ForwardedCount => Interlocked.Read(ref _forwarded);

        public long FailedCount => Interlocked.Read(ref _failed);

        public void Forwarded() => Interlocked.Increment(ref _forwarded);

        public void Failed() => Interlocked.Increment(ref _failed);
    }
}
