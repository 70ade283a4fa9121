namespace Sluice.Proxy.Limits;

/// <summary>A pool whose server connections count against a shared <see cref="ServerCap"/>.</summary>
internal interface IServerCapMember
{
    /// <summary>A slot was freed for this member, which had asked for one: it may try to open a server again.</summary>
    void OnCapSlotFreed();

    /// <summary>Closes one idle server if nobody of this member waits; true when it did (its slot is freed).</summary>
    bool TryCloseIdleServer();
}
