namespace Sluice.Proxy.Configuration;

/// <summary>One problem found in a config file; <see cref="ToString"/> is "FILE:LINE: message".</summary>
public sealed record ConfigError(string File, int Line, string Message)
{
    public override string ToString() => $"{File}:{Line}: {Message}";
}

/// <summary>Thrown when a config cannot be loaded; carries every error found, not just the first.</summary>
public sealed class ConfigException : Exception
{
    public ConfigException(IReadOnlyList<ConfigError> errors)
        : base(string.Join(Environment.NewLine, errors))
    {
        Errors = errors;
    }

    public ConfigException()
        : this([])
    {
    }

    public ConfigException(string message)
        : base(message)
    {
        Errors = [];
    }

    public ConfigException(string message, Exception innerException)
        : base(message, innerException)
    {
        Errors = [];
    }

    public IReadOnlyList<ConfigError> Errors { get; } = [];
}

/// <summary>proxy.toml → validated <see cref="ProxyConfig"/>.</summary>
public static class ConfigLoader
{
    /// <summary>Reads, parses and validates the file as a whole; throws <see cref="ConfigException"/> with every error.</summary>
    public static ProxyConfig Load(string path) => Parse(File.ReadAllText(path), path);

    /// <summary>As <see cref="Load(string)"/>, and hands back the warnings (valid but unwise settings) to log.</summary>
    public static ProxyConfig Load(string path, out IReadOnlyList<ConfigError> warnings) =>
        Parse(File.ReadAllText(path), path, out warnings);

    /// <summary>Parses and validates TOML text; <paramref name="fileName"/> is used in error messages.</summary>
    public static ProxyConfig Parse(string text, string fileName) => Parse(text, fileName, out _);

    /// <summary>
    /// Parses and validates TOML text; throws <see cref="ConfigException"/> with every error, sorted by line.
    /// <paramref name="warnings"/> gets what is valid but unwise, such as plain-text passwords.
    /// </summary>
    public static ProxyConfig Parse(string text, string fileName, out IReadOnlyList<ConfigError> warnings)
    {
        var result = ConfigBinder.Bind(text, fileName);
        if (result.Config is null)
        {
            throw new ConfigException(result.Errors);
        }

        warnings = result.Warnings;
        return result.Config;
    }
}
