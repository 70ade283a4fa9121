using Sluice.Proxy.Configuration;

namespace Sluice.Integration.Tests.Fixtures;

/// <summary>A login role the fixture creates on the cluster, and how PostgreSQL authenticates it over TCP (pg_hba.conf).</summary>
public sealed record TestRole(string Name, string? Password, AuthMethod ServerAuth);

/// <summary>One role per server-side auth method, so tests can check that Sluice logs in to PostgreSQL with each.</summary>
public static class TestRoles
{
    /// <summary>Password stored as a SCRAM verifier; pg_hba scram-sha-256.</summary>
    public static readonly TestRole Scram = new("scram_user", "scram_pass", AuthMethod.ScramSha256);

    /// <summary>Password stored as an md5 hash; pg_hba md5.</summary>
    public static readonly TestRole Md5 = new("md5_user", "md5_pass", AuthMethod.Md5);

    /// <summary>Clear-text password exchange; pg_hba password.</summary>
    public static readonly TestRole Plain = new("plain_user", "plain_pass", AuthMethod.Password);

    /// <summary>No password at all; pg_hba trust.</summary>
    public static readonly TestRole Trust = new("trust_user", null, AuthMethod.Trust);

    public static IReadOnlyList<TestRole> All { get; } = [Scram, Md5, Plain, Trust];

    public static TestRole ByName(string name) => All.Single(role => role.Name == name);
}
