namespace Sluice.Proxy.Cli;

/// <summary>`sluice check [--config FILE]`: exit 0 when valid, else every error as FILE:LINE: message and exit 1.</summary>
internal static class CheckCommand
{
    public static int Run(string[] args) => throw new NotImplementedException();
}
