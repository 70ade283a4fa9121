namespace Sluice.Proxy.Cli;

/// <summary>`sluice passwd USER`: reads a password from stdin, prints its SCRAM-SHA-256 verifier.</summary>
internal static class PasswdCommand
{
    public static int Run(string[] args) => throw new NotImplementedException();
}
