using Sluice.Routing.Topology;

namespace Sluice.Proxy.Configuration;

/// <summary>The text proxy.toml uses for an enum's values, both ways.</summary>
public sealed class EnumNames<T>
    where T : struct, Enum
{
    private readonly (string Name, T Value)[] _names;

    internal EnumNames(params (string Name, T Value)[] names)
    {
        _names = names;
        Allowed = string.Join(", ", names.Select(pair => pair.Name));
    }

    /// <summary>"session, transaction, statement": for error messages.</summary>
    public string Allowed { get; }

    /// <summary>The spellings, in the order the docs list them.</summary>
    public IEnumerable<string> Names => _names.Select(pair => pair.Name);

    public bool TryParse(string text, out T value)
    {
        foreach (var (name, candidate) in _names)
        {
            if (name == text)
            {
                value = candidate;
                return true;
            }
        }

        value = default;
        return false;
    }

    public string Format(T value)
    {
        foreach (var (name, candidate) in _names)
        {
            if (EqualityComparer<T>.Default.Equals(candidate, value))
            {
                return name;
            }
        }

        return value.ToString();
    }
}

/// <summary>The enum spellings of proxy.toml (docs/configuration.md); also what SHOW CONFIG and the other admin views print.</summary>
public static class ConfigNames
{
    public static EnumNames<PoolMode> PoolMode { get; } = new(
        ("session", Configuration.PoolMode.Session),
        ("transaction", Configuration.PoolMode.Transaction),
        ("statement", Configuration.PoolMode.Statement));

    public static EnumNames<AuthMethod> AuthMethod { get; } = new(
        ("scram-sha-256", Configuration.AuthMethod.ScramSha256),
        ("md5", Configuration.AuthMethod.Md5),
        ("password", Configuration.AuthMethod.Password),
        ("trust", Configuration.AuthMethod.Trust));

    public static EnumNames<TlsMode> TlsMode { get; } = new(
        ("disable", Configuration.TlsMode.Disable),
        ("allow", Configuration.TlsMode.Allow),
        ("require", Configuration.TlsMode.Require));

    public static EnumNames<ServerTlsMode> ServerTlsMode { get; } = new(
        ("disable", Configuration.ServerTlsMode.Disable),
        ("prefer", Configuration.ServerTlsMode.Prefer),
        ("require", Configuration.ServerTlsMode.Require),
        ("verify-full", Configuration.ServerTlsMode.VerifyFull));

    public static EnumNames<ServerRole> ServerRole { get; } = new(
        ("primary", Configuration.ServerRole.Primary),
        ("replica", Configuration.ServerRole.Replica),
        ("auto", Configuration.ServerRole.Auto));

    public static EnumNames<LoadBalancing> LoadBalancing { get; } = new(
        ("least_outstanding", Configuration.LoadBalancing.LeastOutstanding),
        ("round_robin", Configuration.LoadBalancing.RoundRobin),
        ("random", Configuration.LoadBalancing.Random));

    public static EnumNames<ReadConsistency> ReadConsistency { get; } = new(
        ("causal", Sluice.Routing.Topology.ReadConsistency.Causal),
        ("session", Sluice.Routing.Topology.ReadConsistency.Session),
        ("lag_budget", Sluice.Routing.Topology.ReadConsistency.LagBudget));
}
