namespace Sluice.Proxy.Demo;

/// <summary>
/// Where PostgreSQL's programs are and how to run the server-side ones. PostgreSQL refuses to run as root, so when we
/// are root, initdb/pg_ctl/pg_basebackup run as the `postgres` OS user (through runuser, else su).
/// </summary>
public sealed class PostgresInstallation
{
    private static readonly string[] ServerPrograms = ["initdb", "pg_ctl", "pg_basebackup", "postgres"];
    private static readonly string[] SystemDirectories = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"];

    private PostgresInstallation(string binDirectory, string? serverUser, string? userSwitch)
    {
        BinDirectory = binDirectory;
        ServerUser = serverUser;
        UserSwitch = userSwitch;
    }

    /// <summary>The folder holding initdb, pg_ctl, pg_basebackup and postgres.</summary>
    public string BinDirectory { get; }

    /// <summary>The OS user the server programs run as; null = the current user.</summary>
    public string? ServerUser { get; }

    /// <summary>runuser or su, when <see cref="ServerUser"/> is set.</summary>
    private string? UserSwitch { get; }

    /// <summary>
    /// The folder of the initdb on PATH (symlinks resolved), else the newest /usr/lib/postgresql/*/bin; throws with a
    /// hint when none holds every server program.
    /// </summary>
    public static PostgresInstallation Find()
    {
        var directory = FromPath() ?? NewestDebianLayout()
            ?? throw new InvalidOperationException(
                "PostgreSQL server programs (initdb, pg_ctl, pg_basebackup, postgres) were found neither on PATH nor under "
                + "/usr/lib/postgresql/*/bin. Install PostgreSQL (e.g. apt-get install postgresql) or put its bin folder on PATH.");
        if (!HasServerPrograms(directory))
        {
            throw new InvalidOperationException($"{directory} does not hold all of {string.Join(", ", ServerPrograms)}.");
        }

        if (!IsRoot())
        {
            return new PostgresInstallation(directory, null, null);
        }

        var userSwitch = FindExecutable("runuser") ?? FindExecutable("su")
            ?? throw new InvalidOperationException("Running as root, but neither runuser nor su exists to run PostgreSQL as the postgres user.");
        return new PostgresInstallation(directory, "postgres", userSwitch);
    }

    /// <summary>The program in <see cref="BinDirectory"/> when it is there (psql, pgbench, pg_config...), else its bare name for PATH.</summary>
    public string ToolPath(string name)
    {
        var path = Path.Combine(BinDirectory, name);
        return File.Exists(path) ? path : name;
    }

    /// <summary>Runs a server program (initdb, pg_ctl...) as <see cref="ServerUser"/>.</summary>
    public Task<ProcessResult> RunAsServerUserAsync(
        string program,
        IReadOnlyList<string> arguments,
        TimeSpan timeout,
        string workingDirectory,
        IReadOnlyDictionary<string, string?>? environment = null,
        CancellationToken cancellationToken = default)
    {
        var path = ToolPath(program);
        if (ServerUser is null || UserSwitch is null)
        {
            return ExternalProcess.RunAsync(path, arguments, timeout, environment, workingDirectory, cancellationToken: cancellationToken);
        }

        // runuser and su keep the caller's environment apart from HOME/SHELL/USER/LOGNAME, so PGPASSWORD gets through.
        string[] switched = Path.GetFileName(UserSwitch) == "runuser"
            ? ["-u", ServerUser, "--", path, .. arguments]
            : [ServerUser, "-s", "/bin/sh", "-c", string.Join(' ', arguments.Prepend(path).Select(ShellQuote))];
        return ExternalProcess.RunAsync(UserSwitch, switched, timeout, environment, workingDirectory, cancellationToken: cancellationToken);
    }

    /// <summary>Hands a folder we made to <see cref="ServerUser"/> (no-op when not root).</summary>
    public async Task GiveToServerUserAsync(string path, CancellationToken cancellationToken)
    {
        if (ServerUser is null)
        {
            return;
        }

        var result = await ExternalProcess.RunAsync("chown", ["-R", ServerUser + ":", path], TimeSpan.FromSeconds(30), cancellationToken: cancellationToken);
        if (!result.Succeeded)
        {
            throw new InvalidOperationException($"chown {ServerUser} {path} failed: {result.StandardError.Trim()}");
        }
    }

    internal static bool IsRoot() => Environment.UserName == "root";

    internal static string? FindExecutable(string name)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        foreach (var directory in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries).Concat(SystemDirectories))
        {
            var candidate = Path.Combine(directory, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private static string? FromPath()
    {
        var initdb = FindExecutable("initdb");
        if (initdb is null)
        {
            return null;
        }

        // Distributions often link just a few programs into /usr/bin or /usr/local/bin; the real folder has all of them.
        var target = new FileInfo(initdb).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? initdb;
        var directory = Path.GetDirectoryName(target);
        return directory is not null && HasServerPrograms(directory) ? directory : null;
    }

    private static string? NewestDebianLayout()
    {
        const string Root = "/usr/lib/postgresql";
        if (!Directory.Exists(Root))
        {
            return null;
        }

        return Directory.GetDirectories(Root)
            .Select(directory => (Directory: Path.Combine(directory, "bin"), Version: Version.TryParse(MajorToVersion(Path.GetFileName(directory)), out var version) ? version : null))
            .Where(candidate => candidate.Version is not null && HasServerPrograms(candidate.Directory))
            .OrderByDescending(candidate => candidate.Version)
            .Select(candidate => candidate.Directory)
            .FirstOrDefault();
    }

    // "15" is not a System.Version; "15.0" is.
    private static string MajorToVersion(string name) => name.Contains('.', StringComparison.Ordinal) ? name : name + ".0";

    private static bool HasServerPrograms(string directory) => ServerPrograms.All(program => File.Exists(Path.Combine(directory, program)));

    private static string ShellQuote(string value) => "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
