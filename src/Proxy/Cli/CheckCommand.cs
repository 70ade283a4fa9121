using Sluice.Proxy.Configuration;

namespace Sluice.Proxy.Cli;

/// <summary>`sluice check [--config FILE]`: exit 0 when valid, else every error as FILE:LINE: message and exit 1.</summary>
internal static class CheckCommand
{
    public static int Run(string[] args) => Run(args, Console.Out, Console.Error);

    /// <summary>"FILE: ok" on <paramref name="output"/>; errors and warnings as FILE:LINE: ... on <paramref name="error"/>.</summary>
    internal static int Run(string[] args, TextWriter output, TextWriter error)
    {
        var path = CommandLine.FindConfigPath(args);
        if (path is null)
        {
            error.WriteLine("sluice check: --config needs a FILE");
            error.WriteLine("usage: sluice check [--config FILE]");
            return 2;
        }

        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"{path}: cannot read: {DescribeReadFailure(exception)}");
            return 1;
        }

        var result = ConfigBinder.Bind(text, path);
        foreach (var configError in result.Errors)
        {
            error.WriteLine(configError.ToString());
        }

        foreach (var warning in result.Warnings)
        {
            error.WriteLine($"{warning.File}:{warning.Line}: warning: {warning.Message}");
        }

        if (result.Config is null)
        {
            return 1;
        }

        output.WriteLine($"{path}: ok");
        return 0;
    }

    private static string DescribeReadFailure(Exception exception) => exception switch
    {
        FileNotFoundException or DirectoryNotFoundException => "no such file",
        UnauthorizedAccessException => "permission denied",
        _ => exception.Message,
    };
}
