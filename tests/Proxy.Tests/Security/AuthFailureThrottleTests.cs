using System.Net;
using Sluice.Proxy.Security;

namespace Sluice.Proxy.Tests.Security;

public sealed class AuthFailureThrottleTests
{
    private static readonly IPAddress Guesser = IPAddress.Parse("198.51.100.7");

    [Fact]
    public void First_five_failures_are_free_then_each_delay_doubles_up_to_the_cap()
    {
        var throttle = new AuthFailureThrottle(new ManualTimeProvider());

        var delays = Enumerable.Range(0, 11).Select(_ => throttle.RecordFailure(Guesser).TotalMilliseconds).ToArray();

        Assert.Equal([0, 0, 0, 0, 0, 500, 1000, 2000, 4000, 5000, 5000], delays);
    }

    [Fact]
    public void An_address_is_forgotten_after_a_quiet_minute()
    {
        var clock = new ManualTimeProvider();
        var throttle = new AuthFailureThrottle(clock);
        for (var i = 0; i < 8; i++)
        {
            throttle.RecordFailure(Guesser);
        }

        clock.Advance(TimeSpan.FromSeconds(61));

        Assert.Equal(TimeSpan.Zero, throttle.RecordFailure(Guesser));
    }

    [Fact]
    public void Failures_less_than_a_minute_apart_keep_counting()
    {
        var clock = new ManualTimeProvider();
        var throttle = new AuthFailureThrottle(clock);
        for (var i = 0; i < 5; i++)
        {
            throttle.RecordFailure(Guesser);
            clock.Advance(TimeSpan.FromSeconds(50));
        }

        Assert.Equal(TimeSpan.FromMilliseconds(500), throttle.RecordFailure(Guesser));
    }

    [Fact]
    public void Other_addresses_are_not_slowed_by_one_guesser()
    {
        var throttle = new AuthFailureThrottle(new ManualTimeProvider());
        for (var i = 0; i < 10; i++)
        {
            throttle.RecordFailure(Guesser);
        }

        Assert.Equal(TimeSpan.Zero, throttle.RecordFailure(IPAddress.Parse("198.51.100.8")));
    }

    [Fact]
    public void Ipv6_addresses_of_one_64_prefix_count_together()
    {
        var throttle = new AuthFailureThrottle(new ManualTimeProvider());
        for (var i = 0; i < 5; i++)
        {
            throttle.RecordFailure(IPAddress.Parse($"2001:db8:0:1::{i + 1:x}"));
        }

        Assert.True(throttle.RecordFailure(IPAddress.Parse("2001:db8:0:1::ffff")) > TimeSpan.Zero);
        Assert.Equal(TimeSpan.Zero, throttle.RecordFailure(IPAddress.Parse("2001:db8:0:2::1")));
    }

    [Fact]
    public void Memory_stays_bounded_and_an_address_flood_is_slowed_as_one()
    {
        var throttle = new AuthFailureThrottle(new ManualTimeProvider()) { MaxAddresses = 100 };
        var delayed = 0;

        for (var i = 0; i < 10_000; i++)
        {
            var address = new IPAddress([10, (byte)(i >> 16), (byte)(i >> 8), (byte)i]);
            if (throttle.RecordFailure(address) > TimeSpan.Zero)
            {
                delayed++;
            }
        }

        Assert.InRange(throttle.TrackedAddresses, 1, 101);
        Assert.True(delayed > 9_000, $"only {delayed} of the flood's failures were delayed");
    }

    [Fact]
    public void Expired_addresses_make_room_for_new_ones()
    {
        var clock = new ManualTimeProvider();
        var throttle = new AuthFailureThrottle(clock) { MaxAddresses = 10 };
        for (var i = 0; i < 10; i++)
        {
            throttle.RecordFailure(new IPAddress([10, 0, 0, (byte)i]));
        }

        clock.Advance(TimeSpan.FromMinutes(2));
        for (var i = 0; i < 6; i++)
        {
            throttle.RecordFailure(IPAddress.Parse("10.9.9.9"));
        }

        // The new address got its own entry (the old ones expired), so its sixth failure is its own first delay.
        Assert.Equal(1, throttle.TrackedAddresses);
        Assert.Equal(TimeSpan.FromSeconds(1), throttle.RecordFailure(IPAddress.Parse("10.9.9.9")));
    }
}
