using System.Text;
using Sluice.Protocol.Authentication;

namespace Sluice.Proxy.Cli;

/// <summary>`sluice passwd USER`: reads a password from stdin, prints its SCRAM-SHA-256 verifier.</summary>
internal static class PasswdCommand
{
    public static int Run(string[] args)
    {
        var interactive = !Console.IsInputRedirected;
        return Run(args, interactive ? ReadHiddenLine : Console.In.ReadLine, Console.Out, Console.Error, interactive, password => ScramVerifier.Create(password).ToString());
    }

    /// <summary>
    /// The command with its inputs passed in: <paramref name="readLine"/> reads the password line (null at end of
    /// input), <paramref name="interactive"/> says a person types it (so prompt), <paramref name="makeVerifier"/>
    /// turns it into the text to print.
    /// </summary>
    internal static int Run(string[] args, Func<string?> readLine, TextWriter output, TextWriter error, bool interactive, Func<string, string> makeVerifier)
    {
        if (args.Length != 1 || args[0].StartsWith('-') || args[0].Length == 0)
        {
            error.WriteLine("usage: sluice passwd USER");
            error.WriteLine("reads USER's password from stdin and prints the SCRAM-SHA-256 verifier to use as its password in proxy.toml");
            return 2;
        }

        var user = args[0];
        if (interactive)
        {
            error.Write($"password for {user}: ");
            error.Flush();
        }

        var password = readLine()?.TrimEnd('\r');
        if (interactive)
        {
            error.WriteLine();
        }

        if (string.IsNullOrEmpty(password))
        {
            error.WriteLine("sluice passwd: empty password");
            return 1;
        }

        output.WriteLine(makeVerifier(password));
        if (interactive)
        {
            error.WriteLine($"paste it into proxy.toml as the password of [[users]] name = \"{user}\"");
        }

        return 0;
    }

    /// <summary>Reads a line from the terminal without echoing it.</summary>
    private static string? ReadHiddenLine()
    {
        var builder = new StringBuilder();
        while (true)
        {
            var key = Console.ReadKey(intercept: true);
            switch (key.Key)
            {
                case ConsoleKey.Enter:
                    return builder.ToString();
                case ConsoleKey.Backspace:
                    if (builder.Length > 0)
                    {
                        builder.Length--;
                    }

                    break;
                default:
                    if (key.KeyChar == '\u0004' && builder.Length == 0)
                    {
                        return null;
                    }

                    if (!char.IsControl(key.KeyChar))
                    {
                        builder.Append(key.KeyChar);
                    }

                    break;
            }
        }
    }
}
