using Sluice.Proxy.Statements;
using Sluice.Routing.Classification;

namespace Sluice.Proxy.Tests.Statements;

public sealed class DeallocationTests
{
    private static readonly SqlClassifier Classifier = new();

    private static readonly Dictionary<string, PreparedStatement> ClientStatements = new(StringComparer.Ordinal)
    {
        ["_pg3_0"] = new PreparedStatement(1, "SELECT 1", []),
        ["S_1"] = new PreparedStatement(2, "SELECT 2", []),
    };

    [Fact]
    public void Each_deallocate_of_a_client_statement_is_replaced_by_the_stand_in_and_marked_for_retagging()
    {
        const string Sql = "SELECT 1; DEALLOCATE _pg3_0 ;SELECT 'DEALLOCATE x'; deallocate prepare \"S_1\"; DEALLOCATE sql_level";

        Assert.True(Deallocation.TryRewrite(Sql, Classifier.Classify(Sql), ClientStatements, out var rewritten, out var plan));

        Assert.Equal($"SELECT 1; {Deallocation.StandIn} ;SELECT 'DEALLOCATE x'; {Deallocation.StandIn}; DEALLOCATE sql_level", rewritten);
        Assert.Null(plan.At(0));
        Assert.Equal("_pg3_0", plan.At(1)?.Key);
        Assert.Null(plan.At(2));
        Assert.Same(ClientStatements["S_1"], plan.At(3)?.Value);
        Assert.Null(plan.At(4));
    }

    [Theory]
    [InlineData("DEALLOCATE sql_level")]
    [InlineData("DEALLOCATE ALL")]
    [InlineData("SELECT 1")]
    [InlineData("DEALLOCATE s_1")]
    [InlineData("FROBNICATE; DEALLOCATE _pg3_0")]
    public void A_text_without_a_deallocate_of_a_client_statement_or_one_the_classifier_cannot_read_goes_unchanged(string sql)
    {
        Assert.False(Deallocation.TryRewrite(sql, Classifier.Classify(sql), ClientStatements, out var rewritten, out var plan));
        Assert.Null(rewritten);
        Assert.Null(plan);
    }

    [Theory]
    [InlineData("DEALLOCATE _pg3_0", "_pg3_0")]
    [InlineData("DEALLOCATE PREPARE \"S_1\";", "S_1")]
    [InlineData("DEALLOCATE a; DEALLOCATE b", null)]
    [InlineData("DEALLOCATE ALL", null)]
    public void A_lone_deallocate_is_recognised(string sql, string? name) =>
        Assert.Equal(name, Deallocation.SoleName(Classifier.Classify(sql)));
}
