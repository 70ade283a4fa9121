using System.Buffers;
using Sluice.Protocol.Framing;
using Sluice.Protocol.Messages;
using Sluice.Proxy.Configuration;
using Sluice.Proxy.Failover;
using Sluice.Proxy.Health;
using Sluice.Proxy.Pooling;
using Sluice.Routing.Classification;
using Sluice.Routing.Topology;

namespace Sluice.Proxy.Clients;

/// <summary>
/// Where a transaction runs: decided at its first message from the classification of its SQL (and of the rest of a
/// pipelined batch already here), SET sluice.route, the lag budget and read_consistency. Unknown is a write.
/// </summary>
internal sealed partial class ClientSession
{
    private SessionRouteCommand _sessionRoute = SessionRouteCommand.Auto;
    private bool _transactionWrites;
    private long _lastWrite;

    /// <summary>Picks the server for the transaction that starts with this message; an error text when none may take it.</summary>
    /// <remarks>
    /// The node comes held (least_outstanding counts it): the lease made of it releases it, or the caller when none is.
    /// Completes at once unless a read must wait for a replica to replay the writes it must see (routing.max_read_wait).
    /// </remarks>
    private async ValueTask<(ServerPool? Pool, BackendNode? Node, string Route, string? Error)> ChooseServerAsync(
        RouteKind kind, bool floorApplies, FailoverBudget failover, CancellationToken token)
    {
        var config = _runtime.Config;
        var database = config.FindDatabase(_databaseName);
        if (database is null || _user is null)
        {
            return (null, null, "", $"database \"{_databaseName}\" is no longer configured");
        }

        var route = await SelectRouteAsync((database, kind, floorApplies), token);
        if (PrimaryWait.NeedsPrimary(route))
        {
            // Hook: no primary (a failover under way): wait for one up to routing.failover_wait.
            route = await _runtime.Failover.WaitAsync(database.Name, failover, (database, kind, floorApplies), SelectRouteAsync, token);
        }

        if (!route.Succeeded)
        {
            return (null, null, "", route.FailureMessage);
        }

        route.Node?.Acquire();
        _transactionWrites = !route.IsReplica && kind == RouteKind.Write;
        return (_runtime.Pools.GetPool(config, database, _user, route.Server!), route.Node, route.RoleName, null);
    }

    /// <summary>
    /// One look at the topology for a transaction's server. Hook: a read is held to the writes it must see
    /// (routing.read_consistency) unless the client opted out, which may make it wait for a replica.
    /// </summary>
    private ValueTask<ServerRoute> SelectRouteAsync((DatabaseConfig Database, RouteKind Kind, bool FloorApplies) request, CancellationToken token) =>
        request.Kind == RouteKind.Read && request.FloorApplies
            ? _runtime.Reads.SelectAsync(request.Database, _lastWrite, token)
            : new ValueTask<ServerRoute>(_runtime.Health.Select(request.Database, request.Kind));

    /// <summary>
    /// Hook: a transaction on the primary ended (ReadyForQuery 'I', before it is forwarded to the client): it counts as
    /// a write that later reads must see. Every one counts while the primary stays lent (session mode, pinned clients);
    /// the next lending decides afresh.
    /// </summary>
    private void NoteTransactionEndLocked()
    {
        if (_transactionWrites)
        {
            _lastWrite = _runtime.Reads.WriteCompleted(_databaseName);
        }
    }

    /// <summary>SET sluice.route = 'replica' and a /* sluice:replica */ hint opt out of read_consistency.</summary>
    private bool ReadFloorApplies(in Inspection inspection) =>
        _sessionRoute != SessionRouteCommand.Replica && inspection.Classification?.Hint != RouteHint.Replica;

    private RouteKind DecideRoute(in Inspection inspection, ReadOnlySequence<byte> batch)
    {
        if (Mode == PoolMode.Session || _sessionRoute == SessionRouteCommand.Primary)
        {
            return RouteKind.Write;
        }

        if (_sessionRoute == SessionRouteCommand.Replica)
        {
            return RouteKind.Read;
        }

        var first = inspection.Classification ?? ClassificationOfBound(inspection.StatementName);
        if (first is null || !IsRead(first))
        {
            return RouteKind.Write;
        }

        // A pipelined batch runs on one server: every statement in it already here must be a read too.
        return RestOfBatchReads(batch) ? RouteKind.Read : RouteKind.Write;
    }

    private static bool IsRead(ClassificationResult classification) =>
        classification.IsBegin ? classification.BeginReadOnly : classification.Route == StatementRoute.Read;

    private ClassificationResult? ClassificationOfBound(string? statementName) =>
        TryGetClientStatement(statementName, out var statement) ? statement.Classification : null;

    private bool RestOfBatchReads(ReadOnlySequence<byte> batch)
    {
        var first = true;
        while (FrameReader.TryReadHeader(batch, FrameReader.DefaultMaxFrameLength, out var header) == Protocol.Framing.ReadStatus.Ok)
        {
            if (!first)
            {
                var code = (FrontendMessageCode)header.Code;
                if (code is FrontendMessageCode.Sync or FrontendMessageCode.Query)
                {
                    return true;
                }

                if (code is FrontendMessageCode.Parse or FrontendMessageCode.Bind)
                {
                    if (batch.Length < header.FrameLength || header.FrameLength > MaxInspectedLength)
                    {
                        return false;
                    }

                    var payload = batch.Slice(FrameHeader.Size, header.PayloadLength);
                    if (!IsReadMessage(code, payload))
                    {
                        return false;
                    }
                }
            }

            first = false;
            if (batch.Length < header.FrameLength)
            {
                return true;
            }

            batch = batch.Slice(header.FrameLength);
        }

        return true;
    }

    /// <summary>A Parse of a read, or a Bind of one (an unnamed Bind uses the Parse already checked in this batch).</summary>
    private bool IsReadMessage(FrontendMessageCode code, ReadOnlySequence<byte> payload)
    {
        ClassificationResult? classification;
        if (code == FrontendMessageCode.Parse)
        {
            classification = _runtime.Classifier.Classify(FrontendMessageReader.ReadParse(payload).Query);
        }
        else if (!FrontendMessageReader.TryReadBindNames(payload, out _, out var statement))
        {
            return false;
        }
        else if (statement.Length == 0)
        {
            return true;
        }
        else
        {
            classification = ClassificationOfBound(statement);
        }

        return classification is not null && IsRead(classification);
    }

    /// <summary>SET/SHOW/RESET sluice.route, answered by the proxy and never sent to a server.</summary>
    private LocalAnswer? SessionRouteAnswer(ClassificationResult classification)
    {
        switch (classification.SessionRoute)
        {
            case SessionRouteCommand.Auto:
            case SessionRouteCommand.Primary:
            case SessionRouteCommand.Replica:
                _sessionRoute = classification.SessionRoute;
                return new LocalAnswer(classification.Statements.Count > 0 && classification.Statements[0].Kind == StatementKind.Reset ? "RESET" : "SET");
            case SessionRouteCommand.Show:
                return new LocalAnswer("SHOW", Row: ("sluice.route", _sessionRoute.ToString().ToLowerInvariant()));
            case SessionRouteCommand.Invalid:
                return new LocalAnswer(null, SqlState.InvalidParameterValue, "invalid value for sluice.route: use 'primary', 'replica' or 'auto' (SET LOCAL is not supported)");
            default:
                return null;
        }
    }
}
