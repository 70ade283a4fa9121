namespace Sluice.Proxy.Limits;

/// <summary>What a rate limit made of a new connection or transaction.</summary>
internal enum RateOutcome
{
    /// <summary>Within the rate (or no rate configured).</summary>
    Admitted,

    /// <summary>Over the rate, admitted after waiting for its token.</summary>
    AdmittedAfterWait,

    /// <summary>Over the rate, and the wait would have been longer than allowed.</summary>
    Refused,
}
