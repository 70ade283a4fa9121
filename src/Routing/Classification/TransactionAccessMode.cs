namespace Sluice.Routing.Classification;

/// <summary>The access mode a BEGIN / START TRANSACTION / SET TRANSACTION statement asks for.</summary>
public enum TransactionAccessMode
{
    /// <summary>No READ ONLY / READ WRITE given (the session default applies).</summary>
    Unspecified,
    ReadOnly,
    ReadWrite,
}
