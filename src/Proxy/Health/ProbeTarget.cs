namespace Sluice.Proxy.Health;

/// <summary>How one server is checked under the current config; replaced whole on reload.</summary>
/// <param name="ConnectionString">Npgsql's connection string; null when no configured user can log in to check it.</param>
/// <param name="Login">user@host:port/database for logs (never the password).</param>
/// <param name="Interval">Time from the start of one check to the start of the next.</param>
/// <param name="Timeout">How long one check, connect included, may take.</param>
internal sealed record ProbeTarget(string? ConnectionString, string Login, TimeSpan Interval, TimeSpan Timeout);
