namespace Sluice.Proxy.Transport;

/// <summary>
/// Process-wide settings of .NET's socket engine, which it reads once, when the first socket starts it: they must be
/// applied at the top of Main, before anything (the HTTP host, a demo's health check) opens a socket.
/// </summary>
internal static class SocketEngineSettings
{
    public const string InlineCompletionsVariable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>
    /// Socket completions run on the epoll thread that saw them instead of being queued to the thread pool: a relayed
    /// message then crosses no thread (see docs/transport.md for the measurement). The price is that nothing reached
    /// from a completion may block or compute for long, since it holds up every other socket on that thread (the
    /// session code awaits instead of blocking; SCRAM key derivation, 4096 PBKDF2 rounds, is the costly step to watch).
    /// An operator can still turn it off with <c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=0</c>.
    /// </summary>
    public static void Apply()
    {
        if (Environment.GetEnvironmentVariable(InlineCompletionsVariable) is null)
        {
            Environment.SetEnvironmentVariable(InlineCompletionsVariable, "1");
        }
    }
}
