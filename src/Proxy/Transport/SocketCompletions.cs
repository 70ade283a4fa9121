namespace Sluice.Proxy.Transport;

/// <summary>
/// Where .NET runs the continuation of a completed socket operation. By default its epoll threads queue every
/// completion to the thread pool, so each receive costs a hand-off between threads (a wake-up, a context switch);
/// inline, the epoll thread (one per core) runs the continuation itself: the relay then reads, forwards and sends on
/// the thread that saw the data, as PgBouncer's event loop does. Measured through the proxy (bench/RESULTS.md,
/// "Inline socket completions"): about half the CPU per transaction and up to twice the throughput at 10–100 clients.
/// <para>
/// The price is a rule: nothing reached from a socket completion may block or compute for long, or every connection
/// served by that epoll thread waits (docs/transport.md lists what is kept off it).
/// </para>
/// </summary>
internal static class SocketCompletions
{
    public const string EnvironmentVariable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>
    /// Runs socket completions inline unless the operator chose otherwise in the environment
    /// (<c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=0</c> turns it off). Only takes effect before the process's first
    /// socket operation: .NET reads the variable once, when its socket engine starts.
    /// </summary>
    public static void PreferInline()
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(EnvironmentVariable)))
        {
            Environment.SetEnvironmentVariable(EnvironmentVariable, "1");
        }
    }

    /// <summary>Whether this process runs them inline (as .NET decides it: the variable is exactly "1").</summary>
    public static bool AreInline => Environment.GetEnvironmentVariable(EnvironmentVariable) == "1";
}
