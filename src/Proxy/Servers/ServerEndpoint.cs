using Sluice.Protocol.Authentication;

namespace Sluice.Proxy.Servers;

/// <summary>Where and as whom the proxy logs in to PostgreSQL for one pool.</summary>
internal sealed record ServerLoginTarget(string Host, int Port, string Database, string User, string? Password)
{
    /// <summary>For a user looked up with auth_query whose client proved a SCRAM password: logs in without it.</summary>
    public ScramKeys? Scram { get; init; }

    /// <summary>True for the pool of a user that is not in proxy.toml but was looked up with auth_query.</summary>
    public bool LookedUp { get; init; }

    public string ServerName => $"{Host}:{Port}";

    /// <summary>Never print the password.</summary>
    public override string ToString() => $"{User}@{Host}:{Port}/{Database}";
}
