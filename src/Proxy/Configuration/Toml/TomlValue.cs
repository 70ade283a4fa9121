namespace Sluice.Proxy.Configuration.Toml;

public enum TomlValueKind
{
    String,
    Integer,
    Float,
    Boolean,
    DateTime,
    Array,
    Table,
}

/// <summary>A value of a TOML document; <see cref="Line"/> is where it starts (1-based), for error messages.</summary>
public abstract class TomlValue
{
    private protected TomlValue(int line)
    {
        Line = line;
    }

    public int Line { get; private protected set; }

    public abstract TomlValueKind Kind { get; }

    /// <summary>The kind with an article, for messages: "a string", "an integer", "an array", ...</summary>
    public string KindName => Kind switch
    {
        TomlValueKind.String => "a string",
        TomlValueKind.Integer => "an integer",
        TomlValueKind.Float => "a float",
        TomlValueKind.Boolean => "a boolean",
        TomlValueKind.DateTime => "a date-time",
        TomlValueKind.Array => "an array",
        _ => "a table",
    };
}

public sealed class TomlString(int line, string value) : TomlValue(line)
{
    public string Value { get; } = value;

    public override TomlValueKind Kind => TomlValueKind.String;

    public override string ToString() => Value;
}

public sealed class TomlInteger(int line, long value) : TomlValue(line)
{
    public long Value { get; } = value;

    public override TomlValueKind Kind => TomlValueKind.Integer;

    public override string ToString() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

public sealed class TomlFloat(int line, double value) : TomlValue(line)
{
    public double Value { get; } = value;

    public override TomlValueKind Kind => TomlValueKind.Float;

    public override string ToString() => Value.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
}

public sealed class TomlBoolean(int line, bool value) : TomlValue(line)
{
    public bool Value { get; } = value;

    public override TomlValueKind Kind => TomlValueKind.Boolean;

    public override string ToString() => Value ? "true" : "false";
}

public enum TomlDateTimeKind
{
    OffsetDateTime,
    LocalDateTime,
    LocalDate,
    LocalTime,
}

/// <summary>
/// A validated RFC 3339 date, time or date-time, kept as written: nothing in Sluice's configuration is a
/// date, so the reader checks the syntax and leaves interpretation to whoever needs one.
/// </summary>
public sealed class TomlDateTime(int line, TomlDateTimeKind dateTimeKind, string text) : TomlValue(line)
{
    public TomlDateTimeKind DateTimeKind { get; } = dateTimeKind;

    public string Text { get; } = text;

    public override TomlValueKind Kind => TomlValueKind.DateTime;

    public override string ToString() => Text;
}
