using Sluice.Proxy.Statements;

namespace Sluice.Proxy.Tests.Statements;

public sealed class PreparedStatementCacheTests
{
    [Fact]
    public void The_same_text_and_parameter_types_share_one_server_name()
    {
        var cache = new PreparedStatementCache();

        var first = cache.GetOrAdd("SELECT $1", [23]);

        Assert.Same(first, cache.GetOrAdd("SELECT $1", [23]));
        Assert.NotSame(first, cache.GetOrAdd("SELECT $1", [25]));
        Assert.NotSame(first, cache.GetOrAdd("SELECT $1", []));
        Assert.Equal(3, cache.Count);
    }

    [Fact]
    public void A_retired_statement_is_prepared_again_under_a_new_server_name()
    {
        var cache = new PreparedStatementCache();
        var stale = cache.GetOrAdd("SELECT * FROM t WHERE a = $1", [23]);
        stale.Classification = new Sluice.Routing.Classification.SqlClassifier().Classify(stale.Query);

        var fresh = cache.Retire(stale);

        Assert.NotEqual(stale.ServerName, fresh.ServerName);
        Assert.Equal((stale.Query, stale.ParameterTypes), (fresh.Query, fresh.ParameterTypes));
        Assert.Same(stale.Classification, fresh.Classification);
        Assert.Same(fresh, cache.GetOrAdd("SELECT * FROM t WHERE a = $1", [23]));
        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public void Retiring_an_already_retired_statement_keeps_the_fresh_one()
    {
        var cache = new PreparedStatementCache();
        var stale = cache.GetOrAdd("SELECT 1", []);
        var fresh = cache.Retire(stale);

        // A second server reports the same stale copy: the fresh one must not be thrown away too.
        Assert.Same(fresh, cache.Retire(stale));
        Assert.Same(fresh, cache.GetOrAdd("SELECT 1", []));
    }
}
