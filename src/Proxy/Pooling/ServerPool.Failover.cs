using Sluice.Proxy.Servers;

namespace Sluice.Proxy.Pooling;

internal sealed partial class ServerPool
{
    /// <summary>
    /// The server went away (a connection of the proxy's to it broke with a connection error or 57P01/57P02/57P03):
    /// clients queued for one of its connections stop waiting, with a <see cref="ServerConnectException"/> that their
    /// checkout treats like a failed login, so they look for a server afresh (the new primary, within
    /// routing.failover_wait) instead of waiting out checkout_timeout for connections that will not come back.
    /// </summary>
    public void FailWaiters(string reason)
    {
        List<Waiter> waiting;
        lock (_lock)
        {
            if (_waiters.Count == 0)
            {
                return;
            }

            waiting = [.. _waiters];
            _waiters.Clear();
            foreach (var waiter in waiting)
            {
                waiter.Node = null;
            }
        }

        // Waiters' continuations run on the thread that completes them (see Waiter): each one goes looking for another
        // server, so they go on the thread pool rather than one after another on the caller's (a pump's) thread.
        var gone = new ServerConnectException($"server {Target.ServerName} went away: {reason}");
        foreach (var waiter in waiting)
        {
            ThreadPool.QueueUserWorkItem(static state => state.Waiter.Completion.TrySetException(state.Gone), (Waiter: waiter, Gone: gone), preferLocal: false);
        }
    }
}
