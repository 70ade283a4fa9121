using System.Text;
using Sluice.Routing.Classification;

namespace Sluice.Routing.Tests.Classification;

public sealed class ClassifierCacheTests
{
    [Fact]
    public void The_same_text_returns_the_cached_result()
    {
        var classifier = new SqlClassifier();

        var first = classifier.Classify("SELECT * FROM t WHERE id = $1");
        var second = classifier.Classify(new StringBuilder("SELECT * FROM t ").Append("WHERE id = $1").ToString());

        Assert.Same(first, second);
        Assert.Equal(1, classifier.CachedCount);
    }

    [Fact]
    public void Span_and_utf8_lookups_hit_the_same_cache()
    {
        var classifier = new SqlClassifier();
        var first = classifier.Classify("SELECT 'héllo'");

        Assert.Same(first, classifier.Classify("SELECT 'héllo'".AsSpan()));
        Assert.Same(first, classifier.ClassifyUtf8(Encoding.UTF8.GetBytes("SELECT 'héllo'")));
        Assert.Same(first, classifier.ClassifyUtf8(Encoding.UTF8.GetBytes("SELECT 'héllo'\0")));
        Assert.Equal(1, classifier.CachedCount);
    }

    [Fact]
    public void Utf8_text_longer_than_the_stack_buffer_is_classified()
    {
        var classifier = new SqlClassifier();
        var sql = "SELECT " + string.Join(", ", Enumerable.Range(0, 400).Select(i => $"'é{i}'")) + " FOR UPDATE";

        Assert.Equal(StatementRoute.Write, classifier.ClassifyUtf8(Encoding.UTF8.GetBytes(sql)).Route);
        Assert.Same(classifier.Classify(sql), classifier.ClassifyUtf8(Encoding.UTF8.GetBytes(sql)));
    }

    [Fact]
    public void Invalid_utf8_is_classified_without_throwing()
    {
        var classifier = new SqlClassifier();

        var result = classifier.ClassifyUtf8([(byte)'S', (byte)'E', 0xFF, 0xFE, (byte)' ', (byte)'1']);

        Assert.Equal(StatementRoute.Unknown, result.Route);
    }

    [Fact]
    public void The_cache_is_bounded_by_its_capacity()
    {
        var classifier = new SqlClassifier(new SqlClassifierOptions { CacheCapacity = 10 });

        for (var i = 0; i < 25; i++)
        {
            classifier.Classify($"SELECT {i}");
            Assert.InRange(classifier.CachedCount, 1, 10);
        }
    }

    [Fact]
    public void The_cache_is_bounded_by_its_total_characters()
    {
        var classifier = new SqlClassifier(new SqlClassifierOptions { MaxCachedCharacters = 100 });

        for (var i = 0; i < 20; i++)
        {
            classifier.Classify($"SELECT {i} /* {new string('x', 20)} */");
            Assert.InRange(classifier.CachedCount, 1, 3);
        }
    }

    [Fact]
    public void Long_texts_are_not_cached()
    {
        var classifier = new SqlClassifier(new SqlClassifierOptions { MaxCachedTextLength = 20 });
        var sql = "SELECT * FROM a_table_with_a_long_name";

        var first = classifier.Classify(sql);
        var second = classifier.Classify(sql);

        Assert.NotSame(first, second);
        Assert.Equal(first.Route, second.Route);
        Assert.Equal(0, classifier.CachedCount);
    }

    [Fact]
    public void A_zero_capacity_turns_the_cache_off()
    {
        var classifier = new SqlClassifier(new SqlClassifierOptions { CacheCapacity = 0 });

        Assert.NotSame(classifier.Classify("SELECT 1"), classifier.Classify("SELECT 1"));
        Assert.Equal(0, classifier.CachedCount);
    }

    [Fact]
    public void Clear_cache_empties_it()
    {
        var classifier = new SqlClassifier();
        classifier.Classify("SELECT 1");

        classifier.ClearCache();

        Assert.Equal(0, classifier.CachedCount);
    }

    [Fact]
    public void Concurrent_callers_get_consistent_results()
    {
        var classifier = new SqlClassifier(new SqlClassifierOptions { CacheCapacity = 50 });
        var texts = Enumerable.Range(0, 200)
            .Select(i => i % 3 == 0 ? $"SELECT {i}" : i % 3 == 1 ? $"INSERT INTO t VALUES ({i})" : $"SELECT nextval('s{i}')")
            .ToArray();

        Parallel.For(0, 4_000, new ParallelOptions { MaxDegreeOfParallelism = 2 }, i =>
        {
            var sql = texts[i % texts.Length];
            var expected = sql.StartsWith("SELECT 1", StringComparison.Ordinal) || (i % texts.Length) % 3 == 0
                ? StatementRoute.Read
                : StatementRoute.Write;
            Assert.Equal(expected, classifier.Classify(sql).Route);
        });

        Assert.InRange(classifier.CachedCount, 0, 60);
    }
}
