namespace Sluice.Routing.Classification;

/// <summary>What the analyzers learn about one statement, before it becomes an immutable <see cref="StatementInfo"/>.</summary>
internal sealed class StatementFacts
{
    private StatementFacts(StatementKind kind, StatementRoute route, string? reason)
    {
        Kind = kind;
        Route = route;
        Reason = reason;
    }

    public StatementKind Kind { get; set; }

    public StatementRoute Route { get; set; }

    public string? Reason { get; set; }

    public TransactionAccessMode AccessMode { get; set; }

    public SessionPinReasons Pins { get; set; }

    public List<SessionSetting>? Settings { get; set; }

    public SessionRouteCommand SessionRoute { get; set; }

    public string? SessionRouteValue { get; set; }

    public string? SavepointName { get; set; }

    public bool AndChain { get; set; }

    public bool DeallocatesAll { get; set; }

    public string? DeallocatedName { get; set; }

    public static StatementFacts Read(StatementKind kind) => new(kind, StatementRoute.Read, null);

    public static StatementFacts Write(StatementKind kind, string reason) => new(kind, StatementRoute.Write, reason);

    public static StatementFacts Unknown(string reason, StatementKind kind = StatementKind.Unknown) => new(kind, StatementRoute.Unknown, reason);

    public static StatementFacts Of(StatementKind kind, in ScanVerdict verdict) =>
        new(kind, verdict.Writes ? StatementRoute.Write : StatementRoute.Read, verdict.Writes ? verdict.Reason : null)
        {
            Pins = verdict.Pins,
            Settings = verdict.Settings,
        };

    public StatementFacts WithPins(SessionPinReasons pins)
    {
        Pins |= pins;
        return this;
    }

    public void AddSetting(SessionSetting setting) => (Settings ??= []).Add(setting);

    public StatementInfo ToInfo(int start, int length) => new(Kind, Route, Reason, start, length)
    {
        AccessMode = AccessMode,
        PinReasons = Pins,
        SessionSettings = Settings is null ? [] : Settings.ToArray().AsReadOnly(),
        SessionRoute = SessionRoute,
        SessionRouteValue = SessionRouteValue,
        SavepointName = SavepointName,
        AndChain = AndChain,
        DeallocatesAll = DeallocatesAll,
        DeallocatedName = DeallocatedName,
    };
}
