using Sluice.Protocol.Messages;

namespace Sluice.Proxy.Statements;

/// <summary>What the pump does with the reply to one message sent to the server.</summary>
internal enum ReplyAction : byte
{
    /// <summary>Pass the server's reply on to the client.</summary>
    Forward,

    /// <summary>The proxy injected the message (a Parse the server lacked, a Close to evict): the client never sees a success reply.</summary>
    Swallow,

    /// <summary>The proxy did not send the client's message (a Parse the server already has, a Close): make up its reply.</summary>
    Fake,
}

/// <summary>The kind of message a reply answers, which tells which server message ends that reply.</summary>
internal enum ReplyTo : byte
{
    Parse,
    Bind,
    Close,
    Describe,
    Execute,
    Sync,
    Query,
}

internal readonly record struct PendingReply(ReplyTo To, ReplyAction Action, PreparedStatement? Statement = null, string? ClientName = null);

/// <summary>
/// The replies a server owes, in order, for a client whose statements are renamed: PgBouncer's "outstanding requests"
/// queue. Pipelining makes it necessary: a made-up ParseComplete must come exactly where the server's would have.
/// Used by the pump only, except Enqueue (under the session's link lock).
/// </summary>
internal sealed class ReplyQueue
{
    private readonly Queue<PendingReply> _pending = new();

    public int Count => _pending.Count;

    public bool HeadIsFake => _pending.TryPeek(out var head) && head.Action == ReplyAction.Fake;

    public void Enqueue(PendingReply reply) => _pending.Enqueue(reply);

    public bool TryPeek(out PendingReply reply) => _pending.TryPeek(out reply);

    public PendingReply Dequeue() => _pending.Dequeue();

    public void Clear() => _pending.Clear();

    /// <summary>True when <paramref name="code"/> is the last message of the reply to <paramref name="to"/>.</summary>
    public static bool Ends(ReplyTo to, BackendMessageCode code) => to switch
    {
        ReplyTo.Parse => code == BackendMessageCode.ParseComplete,
        ReplyTo.Bind => code == BackendMessageCode.BindComplete,
        ReplyTo.Close => code == BackendMessageCode.CloseComplete,
        ReplyTo.Describe => code is BackendMessageCode.RowDescription or BackendMessageCode.NoData,
        ReplyTo.Execute => code is BackendMessageCode.CommandComplete or BackendMessageCode.EmptyQueryResponse or BackendMessageCode.PortalSuspended,
        _ => code == BackendMessageCode.ReadyForQuery,
    };
}
