using System.Threading.Tasks.Sources;

namespace Sluice.Proxy.Transport.Epoll;

/// <summary>
/// A send waiting for the socket buffer to have room (or a connect waiting to finish): woken by the loop on the next
/// writable edge, or failed by an abort or a cancellation. Created by the first send that has to wait, so a connection
/// whose sends always fit never has one.
/// </summary>
internal sealed class ParkedSend : IValueTaskSource
{
    private ManualResetValueTaskSourceCore<bool> _core;

    /// <summary>Before parking: the next <see cref="WaitAsync"/> waits for a new wake-up.</summary>
    public void Reset() => _core.Reset();

    public ValueTask WaitAsync() => new(this, _core.Version);

    /// <summary>The socket is writable (the waiting send runs on, inline).</summary>
    public void Wake() => _core.SetResult(true);

    public void Fail(Exception error) => _core.SetException(error);

    void IValueTaskSource.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
