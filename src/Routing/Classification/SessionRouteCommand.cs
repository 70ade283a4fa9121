namespace Sluice.Routing.Classification;

/// <summary>
/// A statement about the session's route (<c>SET sluice.route = ...</c>, <c>RESET sluice.route</c>,
/// <c>SHOW sluice.route</c>). The proxy answers these itself and never sends them to a server.
/// </summary>
public enum SessionRouteCommand
{
    /// <summary>Not a sluice.route statement.</summary>
    None,

    /// <summary><c>SET sluice.route = 'auto'</c> / <c>TO DEFAULT</c>, or <c>RESET sluice.route</c>: route by classification again.</summary>
    Auto,

    /// <summary><c>SET sluice.route = 'primary'</c>: everything goes to the primary.</summary>
    Primary,

    /// <summary><c>SET sluice.route = 'replica'</c>: everything goes to a replica.</summary>
    Replica,

    /// <summary><c>SHOW sluice.route</c>.</summary>
    Show,

    /// <summary>
    /// A sluice.route statement the proxy must reject: an unknown value (see
    /// <see cref="StatementInfo.SessionRouteValue"/>) or <c>SET LOCAL sluice.route</c>, which is not supported.
    /// </summary>
    Invalid,
}
