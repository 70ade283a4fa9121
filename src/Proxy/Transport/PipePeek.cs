using System.IO.Pipelines;
using System.Net.Sockets;

namespace Sluice.Proxy.Transport;

/// <summary>Looks at a pipe reader without consuming, for transports whose input is a pipe filled by someone else.</summary>
internal static class PipePeek
{
    /// <summary>
    /// True when bytes are waiting, the writer has completed, or the reader failed (an error from the receive loop, or
    /// the pipe already completed on our side). Nobody may be reading the pipe at the same time.
    /// </summary>
    public static bool HasPendingInputOrClosed(PipeReader reader)
    {
        try
        {
            if (!reader.TryRead(out var result))
            {
                return false;
            }

            reader.AdvanceTo(result.Buffer.Start);
            return !result.Buffer.IsEmpty || result.IsCompleted || result.IsCanceled;
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or InvalidOperationException)
        {
            return true;
        }
    }
}
