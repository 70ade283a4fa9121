namespace Sluice.Proxy.Servers;

/// <summary>Where and as whom the proxy logs in to PostgreSQL for one pool.</summary>
internal sealed record ServerLoginTarget(string Host, int Port, string Database, string User, string? Password)
{
    public string ServerName => $"{Host}:{Port}";

    /// <summary>Never print the password.</summary>
    public override string ToString() => $"{User}@{Host}:{Port}/{Database}";
}
