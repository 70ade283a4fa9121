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

    [Fact]
    public void Ever_new_texts_keep_the_cache_bounded_and_the_statements_in_use_stay_shared()
    {
        var cache = new PreparedStatementCache(capacity: 100);
        var hot = cache.GetOrAdd("SELECT hot", []);

        for (var i = 0; i < 1_000; i++)
        {
            cache.GetOrAdd($"SELECT {i}", []);
            if (i % 10 == 0)
            {
                // Prepared again and again by clients: it stays the one shared copy.
                Assert.Same(hot, cache.GetOrAdd("SELECT hot", []));
            }
        }

        Assert.InRange(cache.Count, 1, 100);
        Assert.Same(hot, cache.GetOrAdd("SELECT hot", []));
    }

    [Fact]
    public void A_text_dropped_from_the_cache_is_prepared_again_under_a_new_server_name()
    {
        var cache = new PreparedStatementCache(capacity: 10);
        var first = cache.GetOrAdd("SELECT 'first'", []);
        for (var i = 0; i < 50; i++)
        {
            cache.GetOrAdd($"SELECT {i}", []);
        }

        var again = cache.GetOrAdd("SELECT 'first'", []);

        // The newest text survives the trim its own arrival set off.
        Assert.Same(again, cache.GetOrAdd("SELECT 'first'", []));
        Assert.NotSame(first, again);
        Assert.NotEqual(first.ServerName, again.ServerName);
        Assert.Equal(first.Query, again.Query);
    }
}
