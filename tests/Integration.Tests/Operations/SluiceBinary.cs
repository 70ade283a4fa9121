using System.Globalization;
using System.Text.RegularExpressions;
using Npgsql;
using Sluice.Integration.Tests.Fixtures;

namespace Sluice.Integration.Tests.Operations;

/// <summary>The built `sluice` (sluice.dll next to the test assembly) run as a child process, as an operator runs it.</summary>
internal static partial class SluiceBinary
{
    public static ChildProcess Start(string configPath)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "sluice.dll");
        Assert.True(File.Exists(dll), $"{dll} is missing");
        return ChildProcess.Start("dotnet", dll, "--config", configPath);
    }

    /// <summary>The PostgreSQL and HTTP ports it bound (its config asks for port 0), read from its startup log lines.</summary>
    public static async Task<(int Port, int HttpPort)> WaitForPortsAsync(ChildProcess sluice)
    {
        var listening = await sluice.WaitForLineAsync("listening for PostgreSQL clients on", TimeSpan.FromSeconds(30));
        var http = await sluice.WaitForLineAsync("HTTP endpoints", TimeSpan.FromSeconds(30));
        await sluice.WaitForLineAsync("started with", TimeSpan.FromSeconds(30));
        return (LastPort(listening), LastPort(http));
    }

    public static string ConnectionString(int port, string user, string? password) => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = port,
        Database = PostgresFixture.Database,
        Username = user,
        Password = password,
        Pooling = false,
        Timeout = 10,
    }.ConnectionString;

    private static int LastPort(string line) => int.Parse(PortPattern().Matches(line)[^1].Groups[1].Value, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"127\.0\.0\.1:(\d+)")]
    private static partial Regex PortPattern();
}
