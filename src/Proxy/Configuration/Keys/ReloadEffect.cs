namespace Sluice.Proxy.Configuration.Keys;

/// <summary>What a reload (SIGHUP, admin RELOAD) does with a changed key.</summary>
internal enum ReloadEffect
{
    /// <summary>Applies at once, to clients already connected too (their next statement, transaction or timeout check).</summary>
    Running,

    /// <summary>Applies to clients (or server connections) that connect after the reload; connected ones keep the old value.</summary>
    NewClients,

    /// <summary>Read only at start-up: a reload logs that a restart is needed and keeps the old value.</summary>
    Restart,
}

internal static class ReloadEffects
{
    /// <summary>The words SHOW CONFIG and docs/configuration.md use.</summary>
    public static string Describe(this ReloadEffect effect) => effect switch
    {
        ReloadEffect.Running => "running clients",
        ReloadEffect.NewClients => "new clients",
        _ => "restart",
    };
}
