using Sluice.Protocol.Startup;
using Sluice.Proxy.Peering;

namespace Sluice.Proxy.Clients;

/// <summary>A CancelRequest: for a session of this instance, or (peering) forwarded to the instance whose key it is.</summary>
internal sealed partial class ClientSession
{
    private async Task HandleCancelRequestAsync(StartupPacket startup, CancellationToken cancellationToken)
    {
        if (PeerCancelForwarder.OwnerOf(startup.CancelProcessId, _runtime.CancelKeys.PeerId) is { } peerId)
        {
            await _runtime.CancelForwarder.ForwardAsync(_runtime.Config, peerId, startup.CancelProcessId, startup.CancelSecretKey, cancellationToken);
            return;
        }

        if (_runtime.CancelKeys.Find(startup.CancelProcessId, startup.CancelSecretKey) is { } target)
        {
            await target.CancelCurrentQueryAsync(cancellationToken);
        }
    }
}
