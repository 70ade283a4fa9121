namespace Sluice.Routing.Classification;

/// <summary>Where a statement may run. <see cref="Unknown"/> must be treated as <see cref="Write"/>.</summary>
public enum StatementRoute
{
    /// <summary>Safe on a replica: it writes nothing and takes no locks a primary would need.</summary>
    Read,

    /// <summary>Must run on the primary.</summary>
    Write,

    /// <summary>The classifier could not tell (parse failure, unknown command); route it like a write.</summary>
    Unknown,
}
