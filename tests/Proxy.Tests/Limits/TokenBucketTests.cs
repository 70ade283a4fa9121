using Sluice.Proxy.Limits;
using Sluice.Proxy.Tests.Security;

namespace Sluice.Proxy.Tests.Limits;

public sealed class TokenBucketTests
{
    private static readonly TimeSpan NoWait = TimeSpan.Zero;

    [Fact]
    public void A_full_bucket_gives_its_burst_at_once_then_refuses_without_waiting()
    {
        var bucket = new TokenBucket(rate: 10, burst: 10, new ManualTimeProvider());

        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(TimeSpan.Zero, bucket.TryReserve(NoWait));
        }

        Assert.Null(bucket.TryReserve(NoWait));
    }

    [Fact]
    public void Callers_over_the_rate_are_given_their_turns_in_order_one_interval_apart()
    {
        var bucket = new TokenBucket(rate: 10, burst: 1, new ManualTimeProvider());
        Assert.Equal(TimeSpan.Zero, bucket.TryReserve(NoWait));

        var waits = Enumerable.Range(0, 3).Select(_ => bucket.TryReserve(TimeSpan.FromSeconds(1))!.Value).ToArray();

        Assert.Equal([TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(300)], waits);
    }

    [Fact]
    public void A_wait_longer_than_allowed_is_refused_and_takes_nothing()
    {
        var bucket = new TokenBucket(rate: 10, burst: 1, new ManualTimeProvider());
        Assert.Equal(TimeSpan.Zero, bucket.TryReserve(NoWait));

        Assert.Null(bucket.TryReserve(TimeSpan.FromMilliseconds(50)));

        // The refused caller left no debt: the next one still waits only one interval.
        Assert.Equal(TimeSpan.FromMilliseconds(100), bucket.TryReserve(TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public void Tokens_come_back_with_time_up_to_the_burst()
    {
        var clock = new ManualTimeProvider();
        var bucket = new TokenBucket(rate: 10, burst: 5, clock);
        for (var i = 0; i < 5; i++)
        {
            bucket.TryReserve(NoWait);
        }

        clock.Advance(TimeSpan.FromMilliseconds(300));
        Assert.False(bucket.IsFull);
        Assert.Equal(3, Enumerable.Range(0, 10).Count(_ => bucket.TryReserve(NoWait) == TimeSpan.Zero));

        clock.Advance(TimeSpan.FromMinutes(1));
        Assert.True(bucket.IsFull);
        Assert.Equal(5, Enumerable.Range(0, 10).Count(_ => bucket.TryReserve(NoWait) == TimeSpan.Zero));
    }

    [Fact]
    public void A_returned_reservation_shortens_the_next_wait()
    {
        var bucket = new TokenBucket(rate: 10, burst: 1, new ManualTimeProvider());
        bucket.TryReserve(NoWait);
        Assert.Equal(TimeSpan.FromMilliseconds(100), bucket.TryReserve(TimeSpan.FromSeconds(1)));

        bucket.Return();

        Assert.Equal(TimeSpan.FromMilliseconds(100), bucket.TryReserve(TimeSpan.FromSeconds(1)));
    }
}
