namespace Sluice.Proxy.Limits;

/// <summary>
/// The shared caps one pool's server connections count against: its database's on its server and its user's on its
/// server. A slot is taken from both or from neither.
/// </summary>
internal sealed class PoolServerCaps
{
    public static readonly PoolServerCaps None = new(new ServerCap(0), new ServerCap(0));

    public PoolServerCaps(ServerCap database, ServerCap user)
    {
        Database = database;
        User = user;
    }

    public ServerCap Database { get; }

    public ServerCap User { get; }

    /// <summary>Another pool waits for a slot of one of these caps: a server of <paramref name="member"/> that would go idle should go instead.</summary>
    public bool HasClaimantOtherThan(IServerCapMember member) => Database.HasClaimantOtherThan(member) || User.HasClaimantOtherThan(member);

    /// <summary>A reload lowered one of these caps below the servers open: a server coming back should close.</summary>
    public bool IsExceeded => Database.IsExceeded || User.IsExceeded;

    public void Join(IServerCapMember member)
    {
        Database.Join(member);
        User.Join(member);
    }

    public void Leave(IServerCapMember member)
    {
        Database.Leave(member);
        User.Leave(member);
    }

    /// <summary>See <see cref="ServerCap.TryAcquire"/>.</summary>
    public bool TryAcquire(IServerCapMember member, bool claim = true)
    {
        if (!Database.TryAcquire(member, claim))
        {
            return false;
        }

        if (User.TryAcquire(member, claim))
        {
            return true;
        }

        Database.Release();
        return false;
    }

    public void Release()
    {
        Database.Release();
        User.Release();
    }
}
