using System.Buffers;
using System.Globalization;
using System.Text;

namespace Sluice.Proxy.Observability;

/// <summary>Names, escaping and number formatting of the Prometheus text format 0.0.4.</summary>
internal static class PrometheusText
{
    /// <summary>Replaces what a metric name may not contain (<c>[a-zA-Z_:][a-zA-Z0-9_:]*</c>) by underscores.</summary>
    public static string MetricName(string name) => Sanitize(name, allowColon: true);

    /// <summary>Replaces what a label name may not contain (<c>[a-zA-Z_][a-zA-Z0-9_]*</c>) by underscores.</summary>
    public static string LabelName(string name) => Sanitize(name, allowColon: false);

    public static void AppendEscapedLabelValue(StringBuilder builder, string value)
    {
        foreach (var c in value)
        {
            switch (c)
            {
                case '\\':
                    builder.Append(@"\\");
                    break;
                case '"':
                    builder.Append("\\\"");
                    break;
                case '\n':
                    builder.Append(@"\n");
                    break;
                default:
                    builder.Append(c);
                    break;
            }
        }
    }

    public static void WriteHeader(Utf8TextWriter writer, string name, string help, PrometheusMetricType type)
    {
        writer.Write("# HELP ");
        writer.Write(name);
        writer.Write(' ');
        writer.Write(EscapeHelp(help));
        writer.Write("\n# TYPE ");
        writer.Write(name);
        writer.Write(type switch
        {
            PrometheusMetricType.Counter => " counter\n",
            PrometheusMetricType.Histogram => " histogram\n",
            _ => " gauge\n",
        });
    }

    public static string EscapeHelp(string help) =>
        help.Contains('\\', StringComparison.Ordinal) || help.Contains('\n', StringComparison.Ordinal)
            ? help.Replace(@"\", @"\\", StringComparison.Ordinal).Replace("\n", @"\n", StringComparison.Ordinal)
            : help;

    public static string FormatValue(object? value) => value switch
    {
        null => string.Empty,
        string s => s,
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? string.Empty,
    };

    public static string FormatDouble(double value) =>
        double.IsNaN(value) ? "NaN"
        : double.IsPositiveInfinity(value) ? "+Inf"
        : double.IsNegativeInfinity(value) ? "-Inf"
        : value.ToString("R", CultureInfo.InvariantCulture);

    private static string Sanitize(string name, bool allowColon)
    {
        if (name.Length > 0 && IsValid(name, allowColon))
        {
            return name;
        }

        var builder = new StringBuilder(name.Length + 1);
        if (name.Length == 0 || char.IsAsciiDigit(name[0]))
        {
            builder.Append('_');
        }

        foreach (var c in name)
        {
            builder.Append(char.IsAsciiLetterOrDigit(c) || c == '_' || (allowColon && c == ':') ? c : '_');
        }

        return builder.ToString();
    }

    private static bool IsValid(string name, bool allowColon)
    {
        if (char.IsAsciiDigit(name[0]))
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '_' || (allowColon && c == ':')))
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>Writes text as UTF-8 straight into an <see cref="IBufferWriter{T}"/> (a PipeWriter, an ArrayBufferWriter).</summary>
internal readonly struct Utf8TextWriter(IBufferWriter<byte> output)
{
    public void Write(string text)
    {
        if (text.Length == 0)
        {
            return;
        }

        var span = output.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length));
        output.Advance(Encoding.UTF8.GetBytes(text, span));
    }

    public void Write(char asciiChar)
    {
        output.GetSpan(1)[0] = (byte)asciiChar;
        output.Advance(1);
    }

    public void Write(long value)
    {
        var span = output.GetSpan(20);
        _ = value.TryFormat(span, out var written, default, CultureInfo.InvariantCulture);
        output.Advance(written);
    }

    public void Write(double value)
    {
        if (!double.IsFinite(value))
        {
            Write(PrometheusText.FormatDouble(value));
            return;
        }

        var span = output.GetSpan(32);
        _ = value.TryFormat(span, out var written, "R", CultureInfo.InvariantCulture);
        output.Advance(written);
    }
}
