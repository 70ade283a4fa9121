using System.Text.RegularExpressions;
using Sluice.Proxy.Configuration.Keys;

namespace Sluice.Proxy.Tests.Configuration;

/// <summary>proxy.toml and docs/configuration.md document every key of the key table, and nothing else.</summary>
public sealed partial class ConfigReferenceTests
{
    private static readonly string Root = ConfigLoaderTests.RepositoryRoot();

    private static SortedSet<string> TableKeys() => [.. ConfigKeys.All.SelectMany(group => group.Keys).Select(key => key.Path)];

    [Fact]
    public void Docs_configuration_md_has_the_generated_key_tables()
    {
        var path = Path.Combine(Root, "docs", "configuration.md");
        var page = File.ReadAllText(path);

        var regenerated = ConfigReference.Regenerate(page);

        Assert.NotNull(regenerated);
        if (Environment.GetEnvironmentVariable("SLUICE_WRITE_DOCS") == "1")
        {
            File.WriteAllText(path, regenerated);
            return;
        }

        Assert.True(regenerated == page, "docs/configuration.md is out of date with the key table: run SLUICE_WRITE_DOCS=1 dotnet test tests/Proxy.Tests --filter ConfigReferenceTests");
    }

    [Fact]
    public void Docs_configuration_md_documents_every_key_and_nothing_else()
    {
        var documented = new SortedSet<string>();
        string? section = null;
        foreach (var line in File.ReadLines(Path.Combine(Root, "docs", "configuration.md")))
        {
            if (DocsSection().Match(line) is { Success: true } header)
            {
                section = header.Groups["servers"].Success ? "databases.servers" : header.Groups["name"].Value;
            }
            else if (section is not null && DocsRow().Match(line) is { Success: true } row)
            {
                documented.Add($"{section}.{row.Groups["key"].Value}");
            }
        }

        AssertSameKeys(documented);
    }

    [Fact]
    public void Proxy_toml_documents_every_key_and_nothing_else()
    {
        var documented = new SortedSet<string>();
        var section = "(top level)";
        foreach (var line in File.ReadLines(Path.Combine(Root, "proxy.toml")))
        {
            if (TomlHeader().Match(line) is { Success: true } header)
            {
                section = header.Groups["name"].Value;
            }
            else if (TomlKey().Match(line) is { Success: true } key)
            {
                documented.Add($"{section}.{key.Groups["key"].Value}");
            }

            // Servers are inline tables: { host = "...", port = 5432, role = "primary" }.
            foreach (Match inline in InlineTable().Matches(line))
            {
                foreach (Match inner in InlineKey().Matches(inline.Groups["body"].Value))
                {
                    documented.Add($"{section}.servers.{inner.Groups["key"].Value}");
                }
            }
        }

        AssertSameKeys(documented);
    }

    [Fact]
    public void Every_key_has_a_type_help_and_a_unique_path()
    {
        var keys = ConfigKeys.All.SelectMany(group => group.Keys).ToList();

        Assert.All(keys, key =>
        {
            Assert.False(string.IsNullOrWhiteSpace(key.Type), key.Path);
            Assert.False(string.IsNullOrWhiteSpace(key.Help), key.Path);
        });
        Assert.Equal(keys.Count, keys.Select(key => key.Path).Distinct().Count());
    }

    private static void AssertSameKeys(SortedSet<string> documented)
    {
        var keys = TableKeys();
        Assert.Equal([], keys.Except(documented));
        Assert.Equal([], documented.Except(keys));
    }

    [GeneratedRegex(@"^### `\[\[?(?<name>[a-z_]+)\]\]?(?<servers> servers = .*)?`$")]
    private static partial Regex DocsSection();

    [GeneratedRegex(@"^\| `(?<key>[a-z_]+)` \|")]
    private static partial Regex DocsRow();

    [GeneratedRegex(@"^(#\s*)?\[\[?(?<name>[a-z_.]+)\]\]?")]
    private static partial Regex TomlHeader();

    /// <summary>"key = value" or, for a key the example leaves unset, "# key = value".</summary>
    [GeneratedRegex(@"^(#\s*)?(?<key>[a-z_]+)\s*=")]
    private static partial Regex TomlKey();

    [GeneratedRegex(@"\{(?<body>[^}]*)\}")]
    private static partial Regex InlineTable();

    [GeneratedRegex(@"(?<key>[a-z_]+)\s*=")]
    private static partial Regex InlineKey();
}
