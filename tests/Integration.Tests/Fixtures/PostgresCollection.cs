namespace Sluice.Integration.Tests.Fixtures;

/// <summary>
/// Every integration test class joins this collection (<c>[Collection(PostgresCollection.Name)]</c>) so the whole run
/// shares one <see cref="PostgresFixture"/>: one primary + replica, started once. Tests in it run one at a time.
/// </summary>
[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresFixture>
{
    public const string Name = "postgres";
}
