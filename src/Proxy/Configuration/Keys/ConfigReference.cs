using System.Text;

namespace Sluice.Proxy.Configuration.Keys;

/// <summary>
/// The key tables of docs/configuration.md, written from <see cref="ConfigKeys"/>: the page's text around them is
/// written by hand, the tables between <see cref="Begin"/> and <see cref="End"/> never are.
/// </summary>
internal static class ConfigReference
{
    public const string Begin = "<!-- key tables: generated from src/Proxy/Configuration/Keys/ConfigKeys.cs, do not edit -->";

    public const string End = "<!-- end of key tables -->";

    /// <summary>One table per section of proxy.toml: key, type, default, what a reload does, help.</summary>
    public static string Markdown()
    {
        var text = new StringBuilder();
        foreach (var group in ConfigKeys.All)
        {
            var header = group.Name switch
            {
                "users" or "databases" or "peers" => $"[[{group.Name}]]",
                "databases.servers" => "[[databases]] servers = [ { ... } ]",
                _ => $"[{group.Name}]",
            };
            text.Append('\n').Append("### `").Append(header).Append("`\n\n");
            text.Append(Capitalized(group.Help)).Append(".\n\n");
            text.Append("| key | type | default | reload applies to | what it does |\n");
            text.Append("| --- | --- | --- | --- | --- |\n");
            foreach (var key in group.Keys)
            {
                text.Append("| `").Append(key.Name).Append("` | ")
                    .Append(Cell(key.Type)).Append(" | ")
                    .Append(DefaultCell(key)).Append(" | ")
                    .Append(key.Reload.Describe()).Append(" | ")
                    .Append(Cell(key.Help)).Append(" |\n");
            }
        }

        return text.Append('\n').ToString();
    }

    /// <summary>The page with its key tables replaced by <see cref="Markdown"/>; null when the markers are missing.</summary>
    public static string? Regenerate(string page)
    {
        var begin = page.IndexOf(Begin, StringComparison.Ordinal);
        var end = page.IndexOf(End, StringComparison.Ordinal);
        if (begin < 0 || end < begin)
        {
            return null;
        }

        return string.Concat(page.AsSpan(0, begin + Begin.Length), "\n", Markdown(), page.AsSpan(end));
    }

    private static string DefaultCell(ConfigKey key) => key switch
    {
        { Default: null } => "required",
        { DefaultIsValue: false } => Cell(key.Default),
        _ => $"`{Cell(key.Default)}`",
    };

    /// <summary>A pipe would end the table cell, even inside a code span.</summary>
    private static string Cell(string text) => text.Replace("|", "\\|", StringComparison.Ordinal);

    private static string Capitalized(string text) => text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..];
}
