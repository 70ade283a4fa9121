using System.Globalization;

namespace Sluice.Proxy.Tests.Observability;

/// <summary>Reads a scrape back: sample lines keyed by series (name and labels), and HELP/TYPE lines.</summary>
internal static class ScrapeText
{
    public static Dictionary<string, string> Samples(string scrape)
    {
        var samples = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in Lines(scrape))
        {
            if (line.StartsWith('#'))
            {
                continue;
            }

            // Label values may contain spaces; the value never does.
            var space = line.LastIndexOf(' ');
            Assert.True(space > 0, $"malformed sample line: {line}");
            Assert.True(samples.TryAdd(line[..space], line[(space + 1)..]), $"duplicate series: {line}");
        }

        return samples;
    }

    public static string[] Lines(string scrape)
    {
        if (scrape.Length == 0)
        {
            return [];
        }

        Assert.EndsWith("\n", scrape, StringComparison.Ordinal);
        Assert.DoesNotContain("\r", scrape, StringComparison.Ordinal);
        return scrape.TrimEnd('\n').Split('\n');
    }

    public static double Value(string scrape, string series)
    {
        var samples = Samples(scrape);
        Assert.True(samples.TryGetValue(series, out var value), $"no sample {series} in:\n{scrape}");
        return double.Parse(value, NumberStyles.Float, CultureInfo.InvariantCulture);
    }

    /// <summary>The series of one metric family (sample names starting with <paramref name="prefix"/>).</summary>
    public static string[] SeriesOf(string scrape, string prefix) =>
        [.. Samples(scrape).Keys.Where(k => k == prefix || k.StartsWith(prefix + "{", StringComparison.Ordinal) || k.StartsWith(prefix + "_", StringComparison.Ordinal))];
}
