using Sluice.Proxy.Demo;

namespace Sluice.Testing;

/// <summary>
/// pg_stat_statements, when the installation has it: routing tests count on each server which statements ran there.
/// Optional — without it those tests fall back to Sluice's own metrics.
/// </summary>
public static class PgStatStatements
{
    /// <summary>The postgresql.conf lines that preload it, or none when the extension is not installed.</summary>
    public static async Task<IReadOnlyList<string>> PreloadSettingsAsync(PostgresInstallation installation, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(installation);
        try
        {
            var result = await ExternalProcess.RunAsync(installation.ToolPath("pg_config"), ["--sharedir", "--pkglibdir"], TimeSpan.FromSeconds(10), cancellationToken: cancellationToken);
            var lines = result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var installed = result.Succeeded && lines.Length == 2
                && File.Exists(Path.Combine(lines[0], "extension", "pg_stat_statements.control"))
                && File.Exists(Path.Combine(lines[1], "pg_stat_statements.so"));
            return installed ? ["shared_preload_libraries = 'pg_stat_statements'"] : [];
        }
        catch (InvalidOperationException)
        {
            return []; // no pg_config: do without
        }
    }
}
