using Sluice.Routing.Classification;

namespace Sluice.Routing.Tests.Classification;

public sealed class SessionRouteTests
{
    [Theory]
    [InlineData("SET sluice.route = 'primary'", SessionRouteCommand.Primary)]
    [InlineData("SET sluice.route = primary", SessionRouteCommand.Primary)]
    [InlineData("SET sluice.route TO primary", SessionRouteCommand.Primary)]
    [InlineData("SET sluice.route TO 'primary';", SessionRouteCommand.Primary)]
    [InlineData("set SLUICE.ROUTE to 'Primary'", SessionRouteCommand.Primary)]
    [InlineData("SET SESSION sluice.route = 'primary'", SessionRouteCommand.Primary)]
    [InlineData("SET \"sluice\".\"route\" = 'primary'", SessionRouteCommand.Primary)]
    [InlineData("SET sluice.route = 'replica'", SessionRouteCommand.Replica)]
    [InlineData("SET sluice.route TO REPLICA", SessionRouteCommand.Replica)]
    [InlineData("SET SESSION sluice.route TO replica", SessionRouteCommand.Replica)]
    [InlineData("/* app */ SET sluice.route = replica", SessionRouteCommand.Replica)]
    [InlineData("SET sluice.route = 'auto'", SessionRouteCommand.Auto)]
    [InlineData("SET sluice.route TO auto", SessionRouteCommand.Auto)]
    [InlineData("SET sluice.route TO DEFAULT", SessionRouteCommand.Auto)]
    [InlineData("SET sluice.route = default", SessionRouteCommand.Auto)]
    [InlineData("RESET sluice.route", SessionRouteCommand.Auto)]
    [InlineData("reset Sluice.Route;", SessionRouteCommand.Auto)]
    [InlineData("SHOW sluice.route", SessionRouteCommand.Show)]
    [InlineData("SET sluice.route = 'sideways'", SessionRouteCommand.Invalid)]
    [InlineData("SET sluice.route = 42", SessionRouteCommand.Invalid)]
    [InlineData("SET sluice.route = primary, replica", SessionRouteCommand.Invalid)]
    [InlineData("SET sluice.route", SessionRouteCommand.Invalid)]
    [InlineData("SET LOCAL sluice.route = 'primary'", SessionRouteCommand.Invalid)]
    [InlineData("SET sluice.other = 'primary'", SessionRouteCommand.None)]
    [InlineData("SET route = 'primary'", SessionRouteCommand.None)]
    [InlineData("SELECT 'SET sluice.route = primary'", SessionRouteCommand.None)]
    [InlineData("SHOW search_path", SessionRouteCommand.None)]
    public void Sluice_route_statements_are_recognised(string sql, SessionRouteCommand expected)
    {
        var result = Classifier.Classify(sql);

        Assert.Equal(expected, result.SessionRoute);
        if (expected != SessionRouteCommand.None)
        {
            Assert.Empty(result.SessionSettings);
            Assert.Equal(StatementRoute.Read, result.Route);
        }
    }

    [Fact]
    public void An_invalid_value_is_reported_for_the_error_message()
    {
        var result = Classifier.Classify("SET sluice.route = 'Sideways'");

        Assert.Equal(SessionRouteCommand.Invalid, result.SessionRoute);
        Assert.Equal("Sideways", result.SessionRouteValue);
    }

    [Fact]
    public void Mixed_with_other_statements_it_is_only_reported_per_statement()
    {
        var result = Classifier.Classify("SET sluice.route = primary; SELECT 1");

        Assert.Equal(SessionRouteCommand.None, result.SessionRoute);
        Assert.Equal(SessionRouteCommand.Primary, result.Statements[0].SessionRoute);
        Assert.Equal(SessionRouteCommand.None, result.Statements[1].SessionRoute);
    }
}
