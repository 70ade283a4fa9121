using Sluice.Proxy.Servers;
using Sluice.Proxy.Statements;
using Sluice.Proxy.Transport;
using Sluice.Routing.Topology;

namespace Sluice.Proxy.Clients;

/// <summary>
/// Everything that lives exactly as long as one lending of a server to a client: the server, what is in flight on it,
/// the replies it owes, where its stream of frames stands, and the timing of what runs on it. Created at checkout and
/// ended when the server goes back (or is discarded), so nothing of one lending is ever reset by hand for the next: the
/// next lending is a new object.
/// <para>
/// Ownership: the fields marked "link lock" are read and written under the owning session's link lock, by its client
/// loop, its pump and the timeout sweeper; the ones marked "pump" only by the pump that serves this lease (and, once
/// it has stopped, by the session's close).
/// </para>
/// </summary>
internal sealed class ServerLease
{
    private BackendNode? _node;

    public ServerLease(ServerConnection server, BackendNode? node, string route)
    {
        Server = server;
        _node = node;
        Route = route;
    }

    public ServerConnection Server { get; }

    /// <summary>The role the transaction was routed to (primary, replica), for the metrics' route label.</summary>
    public string Route { get; }

    /// <summary>Link lock: ReadyForQuery messages the server still owes.</summary>
    public int PendingReady { get; set; }

    /// <summary>Link lock: extended-protocol messages were sent since the last Sync.</summary>
    public bool Unsynced { get; set; }

    /// <summary>Link lock: the session is closing; the pump stops where it is.</summary>
    public bool StopPump { get; set; }

    /// <summary>
    /// Link lock: the client loop is between writing to the server and its flush returning. A lease the pump ends
    /// meanwhile (the server answered before FlushAsync finished its bookkeeping) is handed back by the client loop
    /// after the flush (<see cref="HandBackAfterFlush"/>), so no two sessions ever touch one PipeWriter.
    /// </summary>
    public bool ClientWriting { get; set; }

    /// <summary>Link lock: the lease ended while the client loop was writing; the client loop gives the server back.</summary>
    public bool HandBackAfterFlush { get; set; }

    /// <summary>Link lock: when the running transaction's first statement was sent (0: none runs).</summary>
    public long TransactionStart { get; set; }

    /// <summary>Link lock: when the running statement was sent (0: none runs).</summary>
    public long QueryStart { get; set; }

    /// <summary>Link lock: statement_timeout already cancelled the running statement.</summary>
    public bool StatementCancelSent { get; set; }

    /// <summary>The replies the server owes, in order (statement renaming). Enqueued under the link lock, taken by the pump.</summary>
    public ReplyQueue Replies { get; } = new();

    /// <summary>
    /// Client loop: what the names of the statements parsed and described on this lending resolve against (database,
    /// user, search_path when it was lent), so the proxy may learn their replies; null once the client changed a
    /// setting here, after which nothing is learned.
    /// </summary>
    public string? StatementContext { get; set; }

    /// <summary>
    /// Set by the client loop before it sends DDL (or anything it cannot read), read by the pump at the ReadyForQuery
    /// that follows: the schema may have changed once the transaction is over.
    /// </summary>
    public bool ChangesSchema { get; set; }

    /// <summary>Pump: the reply whose message the server's last ErrorResponse answers.</summary>
    public PendingReply FailedReply { get; set; }

    /// <summary>
    /// Pump: the FATAL the server sent before closing (57P01 on a fast shutdown), kept from a client that outlives its
    /// server: it gets an ERROR with the same words instead.
    /// </summary>
    public Sluice.Protocol.Messages.ErrorFields? ServerFatal { get; set; }

    /// <summary>Pump: where the server's stream of frames stands (a frame cut short when the pump stopped).</summary>
    public FrameRelay FromServer;

    /// <summary>Link lock: no statement, Sync or ReadyForQuery is outstanding.</summary>
    public bool IsQuiet => PendingReady <= 0 && !Unsynced;

    /// <summary>Ends the lending's hold on its backend (least_outstanding counts it). Link lock; idempotent.</summary>
    public void End()
    {
        _node?.Release();
        _node = null;
    }
}
