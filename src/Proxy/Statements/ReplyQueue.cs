using System.Buffers;
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

    /// <summary>Pass the reply on, and keep what it says (a Describe's descriptions) for the statement.</summary>
    Learn,

    /// <summary>
    /// Pass the reply on, with the CommandComplete of the statements in <see cref="PendingReply.Deallocations"/> saying
    /// DEALLOCATE: the proxy ran a harmless stand-in there for a DEALLOCATE it handled itself.
    /// </summary>
    Retag,
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

/// <summary>One reply the server owes, and what the pump does with it.</summary>
/// <param name="To">The kind of message it answers.</param>
/// <param name="Action">Forwarded, swallowed, made up, learned or retagged.</param>
/// <param name="Statement">The shared statement a Parse, Bind or Describe names.</param>
/// <param name="ClientName">The client's name for it, for errors that must name the client's statement.</param>
/// <param name="Stamp">For a Parse or Describe of <paramref name="Statement"/> the server runs: what its success may be learned as.</param>
/// <param name="Deallocations">For <see cref="ReplyAction.Retag"/>: which CommandCompletes of the reply must say DEALLOCATE.</param>
/// <param name="Resets">
/// The reply to a lone DISCARD ALL (Npgsql sends one ahead of the first command of every pooled connection it hands
/// out): when the server is lost before answering, its effect holds all the same, so the proxy answers it with success.
/// </param>
internal readonly record struct PendingReply(
    ReplyTo To,
    ReplyAction Action,
    PreparedStatement? Statement = null,
    string? ClientName = null,
    KnowledgeStamp? Stamp = null,
    DeallocationPlan? Deallocations = null,
    bool Resets = false);

/// <summary>
/// The replies a server owes, in order, for a client whose statements are renamed: PgBouncer's "outstanding requests"
/// queue. Pipelining makes it necessary: a made-up ParseComplete must come exactly where the server's would have.
/// Used by the pump only, except Enqueue (under the session's link lock).
/// </summary>
internal sealed class ReplyQueue
{
    private readonly Queue<PendingReply> _pending = new();

    // Entries that are not plain Forward (made-up or swallowed replies); read without the lock by the pump's fast path.
    private int _unusual;

    // The head reply's CommandCompletes so far (for Retag), and the ParameterDescription of the Describe being learned.
    private int _completions;
    private byte[]? _describedParameters;

    public int Count => _pending.Count;

    public bool HeadIsFake => _pending.TryPeek(out var head) && head.Action == ReplyAction.Fake;

    /// <summary>
    /// True when every queued reply goes to the client as the server sends it: then a message that ends no reply (a
    /// DataRow, CopyData) needs no look at the queue. Safe without the lock: what is enqueued meanwhile queues behind
    /// the reply such a message belongs to.
    /// </summary>
    public bool AllForwarded => Volatile.Read(ref _unusual) == 0;

    public void Enqueue(PendingReply reply)
    {
        _pending.Enqueue(reply);
        if (reply.Action != ReplyAction.Forward)
        {
            Volatile.Write(ref _unusual, _unusual + 1);
        }
    }

    public bool TryPeek(out PendingReply reply) => _pending.TryPeek(out reply);

    /// <summary>A CommandComplete of the head reply arrived: the client statement it deallocates when it is a stand-in's.</summary>
    public KeyValuePair<string, PreparedStatement>? TakeCompletion(in PendingReply head)
    {
        var index = _completions++;
        return head.Deallocations?.At(index);
    }

    /// <summary>
    /// One frame of the head reply, learned for its statement: a server's own ParseComplete (the text parses), or the
    /// ParameterDescription of a Describe being learned, kept until the RowDescription or NoData that ends it.
    /// </summary>
    public void Learn(in PendingReply head, BackendMessageCode code, in ReadOnlySequence<byte> frame)
    {
        if (head is not { Statement: { } statement, Stamp: { } stamp })
        {
            return;
        }

        if (head.To == ReplyTo.Parse)
        {
            if (code == BackendMessageCode.ParseComplete && head.Action != ReplyAction.Fake)
            {
                statement.NoteParsed(stamp);
            }
        }
        else if (head.Action != ReplyAction.Learn || frame.IsEmpty)
        {
            return;
        }
        else if (code == BackendMessageCode.ParameterDescription)
        {
            _describedParameters = frame.ToArray();
        }
        else if (code is BackendMessageCode.RowDescription or BackendMessageCode.NoData && _describedParameters is { } parameters)
        {
            statement.NoteDescribed(stamp, parameters, frame.ToArray());
            _describedParameters = null;
        }
    }

    public PendingReply Dequeue()
    {
        var reply = _pending.Dequeue();
        _completions = 0;
        if (reply.Action != ReplyAction.Forward)
        {
            Volatile.Write(ref _unusual, _unusual - 1);
        }

        return reply;
    }

    /// <summary>False for messages that never end a reply (rows, COPY data, parameter descriptions).</summary>
    public static bool MayEnd(BackendMessageCode code) => code is not (BackendMessageCode.DataRow or BackendMessageCode.CopyData
        or BackendMessageCode.CopyDone or BackendMessageCode.CopyInResponse or BackendMessageCode.CopyOutResponse
        or BackendMessageCode.CopyBothResponse or BackendMessageCode.ParameterDescription or BackendMessageCode.FunctionCallResponse);

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
