namespace Sluice.Proxy.Runtime;

/// <summary>Runs every session's timeout checks ten times a second: one loop for all clients, no timer per query.</summary>
internal sealed class SessionSweeper : IAsyncDisposable
{
    private static readonly TimeSpan s_interval = TimeSpan.FromMilliseconds(100);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _loop;

    public SessionSweeper(ProxyRuntime runtime)
    {
        _loop = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(s_interval);
            try
            {
                while (await timer.WaitForNextTickAsync(_stopping.Token))
                {
                    foreach (var session in runtime.Sessions.Keys)
                    {
                        session.CheckTimeouts();
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        });
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        await _loop;
        _stopping.Dispose();
    }
}
