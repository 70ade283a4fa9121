using Sluice.Proxy.Configuration;

namespace Sluice.Proxy.Tests.Security;

/// <summary>What the config loader says about passwords (logged at startup and reload) never repeats them.</summary>
public sealed class ConfigSecretsTests
{
    private const string Secret = "hunter2-plain-secret";

    [Fact]
    public void Plain_text_password_warning_suggests_sluice_passwd_without_the_password()
    {
        ConfigLoader.Parse($"""
            [[users]]
            name = "app"
            password = "{Secret}"
            """, "proxy.toml", out var warnings);

        var warning = Assert.Single(warnings);
        Assert.Contains("sluice passwd app", warning.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, warning.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Config_errors_about_a_password_do_not_repeat_it()
    {
        const string md5Hash = "md5a3556571e93b0d20722ba62be61e8c2d";

        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Parse($"""
            [[users]]
            name = "app"
            password = "{md5Hash}"
            auth = "scram-sha-256"
            """, "proxy.toml", out _));

        Assert.DoesNotContain(md5Hash, error.Message, StringComparison.Ordinal);
    }
}
