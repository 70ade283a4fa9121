using System.Diagnostics;
using System.Globalization;
using Sluice.Integration.Tests.Fixtures;

namespace Sluice.Integration.Tests.Support;

/// <summary>
/// psql running one statement in the background, for what <see cref="PostgresFixture.RunPsqlAsync"/> cannot do: be
/// interrupted like Ctrl-C (SIGINT) or vanish mid-query (SIGKILL). Disposing kills it if it still runs.
/// </summary>
public sealed class BackgroundPsql : IDisposable
{
    private readonly Process _process;

    private BackgroundPsql(Process process)
    {
        _process = process;
        StandardOutput = process.StandardOutput.ReadToEndAsync();
        StandardError = process.StandardError.ReadToEndAsync();
    }

    public Task<string> StandardOutput { get; }

    public Task<string> StandardError { get; }

    public int ExitCode => _process.ExitCode;

    /// <summary>Starts psql -c <paramref name="sql"/> with application_name <paramref name="applicationName"/> (to find it in pg_stat_activity).</summary>
    public static BackgroundPsql Start(PostgresFixture fixture, int port, TestRole role, string sql, string applicationName)
    {
        ArgumentNullException.ThrowIfNull(fixture);
        ArgumentNullException.ThrowIfNull(role);
        var startInfo = new ProcessStartInfo(fixture.Cluster.Installation.ToolPath("psql"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "-X", "-A", "-t", "-h", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), "-U", role.Name, "-d", PostgresFixture.Database, "-c", sql })
        {
            startInfo.ArgumentList.Add(argument);
        }

        startInfo.Environment["PGPASSWORD"] = role.Password;
        startInfo.Environment["PGAPPNAME"] = applicationName;
        startInfo.Environment["PGPASSFILE"] = "/dev/null";
        startInfo.Environment["PGCONNECT_TIMEOUT"] = "10";
        startInfo.Environment.Remove("PGOPTIONS");
        startInfo.Environment.Remove("PGSERVICE");
        return new BackgroundPsql(Process.Start(startInfo) ?? throw new InvalidOperationException("psql did not start"));
    }

    /// <summary>Sends SIGINT, as Ctrl-C at a terminal does: psql then sends a CancelRequest.</summary>
    public async Task InterruptAsync()
    {
        using var kill = Process.Start("kill", ["-INT", _process.Id.ToString(CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
    }

    /// <summary>SIGKILL: psql disappears without a word, its socket closed by the kernel.</summary>
    public void Kill() => _process.Kill(entireProcessTree: true);

    public Task WaitForExitAsync(TimeSpan timeout) => _process.WaitForExitAsync().WaitAsync(timeout);

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // It exited meanwhile.
        }

        _process.Dispose();
    }
}
