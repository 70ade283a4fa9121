namespace Sluice.Proxy.Observability;

/// <summary>Which way bytes flowed; the <c>direction</c> label of <c>sluice_bytes_total</c>.</summary>
public enum TrafficDirection
{
    /// <summary>Bytes read from a client and forwarded to a server (<c>client_to_server</c>).</summary>
    ClientToServer,

    /// <summary>Bytes read from a server and forwarded to a client (<c>server_to_client</c>).</summary>
    ServerToClient,
}
