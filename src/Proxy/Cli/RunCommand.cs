namespace Sluice.Proxy.Cli;

/// <summary>`sluice [--config FILE]`: runs the proxy until SIGTERM/SIGINT.</summary>
internal static class RunCommand
{
    public static Task<int> RunAsync(string[] args) => throw new NotImplementedException();
}
