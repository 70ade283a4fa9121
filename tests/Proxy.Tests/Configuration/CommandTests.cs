using Sluice.Proxy.Cli;

namespace Sluice.Proxy.Tests.Configuration;

public sealed class CheckCommandTests : IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("sluice-check-");
    private readonly StringWriter _output = new();
    private readonly StringWriter _error = new();

    public void Dispose()
    {
        _folder.Delete(recursive: true);
        _output.Dispose();
        _error.Dispose();
    }

    private string Write(string toml)
    {
        var path = Path.Combine(_folder.FullName, "proxy.toml");
        File.WriteAllText(path, toml);
        return path;
    }

    private string[] ErrorLines => _error.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);

    [Fact]
    public void A_valid_config_prints_ok_and_exits_0()
    {
        var path = Write("[[users]]\nname = \"u\"\nauth = \"trust\"");

        var exitCode = CheckCommand.Run(["--config", path], _output, _error);

        Assert.Equal(0, exitCode);
        Assert.Equal($"{path}: ok{Environment.NewLine}", _output.ToString());
        Assert.Empty(_error.ToString());
    }

    [Fact]
    public void The_repository_example_is_valid()
    {
        var path = Path.Combine(ConfigLoaderTests.RepositoryRoot(), "proxy.toml");

        Assert.Equal(0, CheckCommand.Run(["--config", path], _output, _error));
        Assert.Equal($"{path}: ok{Environment.NewLine}", _output.ToString());
    }

    [Fact]
    public void Warnings_are_printed_with_file_and_line_and_do_not_fail()
    {
        var path = Write("\n[[users]]\nname = \"app\"\npassword = \"secret\"");

        var exitCode = CheckCommand.Run(["--config", path], _output, _error);

        Assert.Equal(0, exitCode);
        Assert.Equal(
            [$"{path}:4: warning: user 'app' has a plain-text password; use `sluice passwd app` to store a SCRAM verifier"],
            ErrorLines);
        Assert.Equal($"{path}: ok{Environment.NewLine}", _output.ToString());
    }

    [Fact]
    public void Every_error_is_printed_as_file_line_message_and_exits_1()
    {
        var path = Write("[pool]\nsize = 0\nmode = \"x\"\nextra = 1");

        var exitCode = CheckCommand.Run(["--config", path], _output, _error);

        Assert.Equal(1, exitCode);
        Assert.Empty(_output.ToString());
        Assert.Equal(
            [
                $"{path}:2: pool.size must be at least 1 (got 0)",
                $"{path}:3: pool.mode: invalid value \"x\"; allowed: session, transaction, statement",
                $"{path}:4: unknown key 'extra' in [pool]; known keys: mode, size, min_size, checkout_timeout, server_idle_timeout, server_lifetime, server_connect_timeout, reset_query, prepared_statements, prepared_statements_per_server",
            ],
            ErrorLines);
    }

    [Fact]
    public void A_syntax_error_is_printed_with_its_line()
    {
        var path = Write("[server]\nlisten = [\"127.0.0.1:6432\"\nhttp_listen = \"\"");

        Assert.Equal(1, CheckCommand.Run(["--config", path], _output, _error));
        var line = Assert.Single(ErrorLines);
        Assert.StartsWith($"{path}:3: ", line, StringComparison.Ordinal);
        Assert.Contains("closing `]`", line, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_file_cannot_be_read()
    {
        var path = Path.Combine(_folder.FullName, "missing.toml");

        Assert.Equal(1, CheckCommand.Run(["--config", path], _output, _error));
        Assert.Equal([$"{path}: cannot read: no such file"], ErrorLines);
    }

    [Fact]
    public void Config_without_a_file_name_is_a_usage_error()
    {
        Assert.Equal(2, CheckCommand.Run(["--config"], _output, _error));
        Assert.Contains("usage: sluice check [--config FILE]", _error.ToString(), StringComparison.Ordinal);
    }
}

public sealed class PasswdCommandTests
{
    private readonly StringWriter _output = new();
    private readonly StringWriter _error = new();

    private int Run(string[] args, string? line, bool interactive = false) =>
        PasswdCommand.Run(args, () => line, _output, _error, interactive, password => $"verifier({password})");

    [Fact]
    public void Prints_the_verifier_of_the_line_read()
    {
        Assert.Equal(0, Run(["app"], "s3cret"));
        Assert.Equal($"verifier(s3cret){Environment.NewLine}", _output.ToString());
        Assert.Empty(_error.ToString());
    }

    [Fact]
    public void A_carriage_return_from_a_windows_pipe_is_not_part_of_the_password()
    {
        Assert.Equal(0, Run(["app"], "s3cret\r"));
        Assert.Equal($"verifier(s3cret){Environment.NewLine}", _output.ToString());
    }

    [Fact]
    public void Spaces_are_part_of_the_password()
    {
        Assert.Equal(0, Run(["app"], " pass phrase "));
        Assert.Equal($"verifier( pass phrase ){Environment.NewLine}", _output.ToString());
    }

    [Fact]
    public void Prompts_on_stderr_when_a_person_types()
    {
        Assert.Equal(0, Run(["app"], "s3cret", interactive: true));
        Assert.StartsWith("password for app: ", _error.ToString(), StringComparison.Ordinal);
        Assert.Equal($"verifier(s3cret){Environment.NewLine}", _output.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData(null)]
    public void An_empty_password_is_an_error(string? line)
    {
        Assert.Equal(1, Run(["app"], line));
        Assert.Empty(_output.ToString());
        Assert.Contains("empty password", _error.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData]
    [InlineData("a", "b")]
    [InlineData("--help")]
    public void Without_exactly_one_user_it_prints_usage_and_exits_2(params string[] args)
    {
        Assert.Equal(2, Run(args, "pw"));
        Assert.Empty(_output.ToString());
        Assert.Contains("usage: sluice passwd USER", _error.ToString(), StringComparison.Ordinal);
    }
}
