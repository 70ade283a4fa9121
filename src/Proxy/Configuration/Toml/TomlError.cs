namespace Sluice.Proxy.Configuration.Toml;

/// <summary>A syntax or structure error in a TOML document, at a 1-based line.</summary>
public sealed record TomlError(int Line, string Message)
{
    public override string ToString() => $"line {Line}: {Message}";
}

/// <summary>Thrown by <see cref="TomlParser.Parse"/>; the document is unusable past the first syntax error.</summary>
public sealed class TomlException : Exception
{
    public TomlException(TomlError error)
        : base(error?.ToString())
    {
        ArgumentNullException.ThrowIfNull(error);
        Error = error;
    }

    public TomlException()
        : this(new TomlError(0, "invalid TOML"))
    {
    }

    public TomlException(string message)
        : this(new TomlError(0, message))
    {
    }

    public TomlException(string message, Exception innerException)
        : base(message, innerException)
    {
        Error = new TomlError(0, message);
    }

    public TomlError Error { get; }
}
