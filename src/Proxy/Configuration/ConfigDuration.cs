using System.Globalization;
using System.Text;

namespace Sluice.Proxy.Configuration;

/// <summary>
/// Durations as proxy.toml writes them: a number with a unit ("250ms", "30s", "5m", "1h"), units combined from
/// largest to smallest ("2h30m", "1m30s"), or "0" for a disabled timeout.
/// </summary>
public static class ConfigDuration
{
    /// <summary>The longest duration accepted: timers take at most int.MaxValue milliseconds (about 596 hours).</summary>
    public static readonly TimeSpan MaxValue = TimeSpan.FromMilliseconds(int.MaxValue);

    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        if (text == "0")
        {
            return true;
        }

        long totalMs = 0;
        var previousUnitMs = long.MaxValue;
        var i = 0;
        while (i < text.Length)
        {
            var start = i;
            while (i < text.Length && char.IsAsciiDigit(text[i]))
            {
                i++;
            }

            // Ten digits are already far beyond MaxValue in any unit; refusing more keeps the arithmetic in range.
            if (i == start || i - start > 10)
            {
                return false;
            }

            var number = long.Parse(text.AsSpan(start, i - start), NumberStyles.None, CultureInfo.InvariantCulture);
            long unitMs;
            if (text.AsSpan(i).StartsWith("ms", StringComparison.Ordinal))
            {
                unitMs = 1;
                i += 2;
            }
            else if (i < text.Length && text[i] is 'h' or 's' or 'm')
            {
                unitMs = text[i] switch { 'h' => 3_600_000, 'm' => 60_000, _ => 1_000 };
                i++;
            }
            else
            {
                return false;
            }

            if (unitMs >= previousUnitMs)
            {
                return false;
            }

            previousUnitMs = unitMs;
            totalMs += number * unitMs;
            if (totalMs > int.MaxValue)
            {
                return false;
            }
        }

        value = TimeSpan.FromMilliseconds(totalMs);
        return true;
    }

    /// <summary>The shortest text <see cref="TryParse"/> reads back as the same value (to the millisecond).</summary>
    public static string Format(TimeSpan value)
    {
        var ms = (long)value.TotalMilliseconds;
        if (ms <= 0)
        {
            return "0";
        }

        var builder = new StringBuilder();
        Append(builder, ref ms, 3_600_000, "h");
        Append(builder, ref ms, 60_000, "m");
        Append(builder, ref ms, 1_000, "s");
        Append(builder, ref ms, 1, "ms");
        return builder.ToString();

        static void Append(StringBuilder builder, ref long ms, long unit, string suffix)
        {
            if (ms >= unit)
            {
                builder.Append(CultureInfo.InvariantCulture, $"{ms / unit}{suffix}");
                ms %= unit;
            }
        }
    }
}
