using System.Net;
using Sluice.Proxy.Configuration;
using Sluice.Proxy.Limits;
using Sluice.Proxy.Tests.Security;

namespace Sluice.Proxy.Tests.Limits;

public sealed class RateLimiterTableTests
{
    [Fact]
    public void Each_key_has_its_own_bucket()
    {
        var table = new RateLimiterTable<string>(new ManualTimeProvider());
        Assert.Equal(TimeSpan.Zero, table.TryReserve("a", 1, TimeSpan.Zero));
        Assert.Null(table.TryReserve("a", 1, TimeSpan.Zero));

        Assert.Equal(TimeSpan.Zero, table.TryReserve("b", 1, TimeSpan.Zero));
    }

    [Fact]
    public void Keys_whose_bucket_filled_up_again_are_forgotten_so_memory_stays_bounded()
    {
        var clock = new ManualTimeProvider();
        var table = new RateLimiterTable<IPAddress>(clock);
        for (var i = 0; i < 5000; i++)
        {
            table.TryReserve(new IPAddress(0x0A000000 + i), 10, TimeSpan.Zero);
            if (i % 1000 == 999)
            {
                // A reconnect storm spread over time: each thousand addresses is a second older than the next.
                clock.Advance(TimeSpan.FromSeconds(1));
            }
        }

        Assert.InRange(table.Count, 1, 2048);
    }

    [Fact]
    public void A_changed_rate_starts_the_key_afresh()
    {
        var table = new RateLimiterTable<string>(new ManualTimeProvider());
        table.TryReserve("app", 1, TimeSpan.Zero);
        Assert.Null(table.TryReserve("app", 1, TimeSpan.Zero));

        Assert.Equal(TimeSpan.Zero, table.TryReserve("app", 2, TimeSpan.Zero));
    }

    [Fact]
    public async Task Connection_rate_counts_an_address_the_same_over_IPv4_and_IPv4_mapped_IPv6()
    {
        var limits = new RateLimits(new ManualTimeProvider());
        var settings = new LimitsSection { ConnectionRate = 1, ConnectionRateWait = TimeSpan.Zero };

        Assert.Equal(RateOutcome.Admitted, await limits.WaitForConnectionAsync(new IPEndPoint(IPAddress.Parse("127.0.0.1"), 5000), settings, CancellationToken.None));
        Assert.Equal(RateOutcome.Refused, await limits.WaitForConnectionAsync(new IPEndPoint(IPAddress.Parse("::ffff:127.0.0.1"), 5001), settings, CancellationToken.None));
        Assert.Equal(RateOutcome.Admitted, await limits.WaitForConnectionAsync(new IPEndPoint(IPAddress.Parse("127.0.0.2"), 5002), settings, CancellationToken.None));
        Assert.Equal(2, limits.TrackedAddresses);
    }

    [Fact]
    public async Task No_rate_configured_admits_everything()
    {
        var limits = new RateLimits(new ManualTimeProvider());
        var user = new UserConfig { Name = "app" };

        for (var i = 0; i < 100; i++)
        {
            Assert.Equal(RateOutcome.Admitted, await limits.WaitForTransactionAsync(user, TimeSpan.Zero, CancellationToken.None));
            Assert.Equal(RateOutcome.Admitted, await limits.WaitForConnectionAsync(new IPEndPoint(IPAddress.Loopback, i), new LimitsSection(), CancellationToken.None));
        }

        Assert.Equal(0, limits.TrackedAddresses);
    }

    [Fact]
    public async Task A_transaction_over_its_rate_waits_for_its_token_instead_of_being_refused()
    {
        var limits = new RateLimits(TimeProvider.System);
        var user = new UserConfig { Name = "app", TransactionRate = 20 };
        var outcomes = new List<RateOutcome>();

        // 20 a second with a burst of 20: within 200 back-to-back transactions some must wait (each waits at most 50 ms).
        for (var i = 0; i < 200 && !outcomes.Contains(RateOutcome.AdmittedAfterWait); i++)
        {
            outcomes.Add(await limits.WaitForTransactionAsync(user, TimeSpan.FromSeconds(5), CancellationToken.None));
        }

        Assert.DoesNotContain(RateOutcome.Refused, outcomes);
        Assert.Contains(RateOutcome.AdmittedAfterWait, outcomes);
    }

    [Fact]
    public async Task A_transaction_whose_wait_would_exceed_checkout_timeout_is_refused_at_once()
    {
        var limits = new RateLimits(new ManualTimeProvider());
        var user = new UserConfig { Name = "app", TransactionRate = 1 };

        Assert.Equal(RateOutcome.Admitted, await limits.WaitForTransactionAsync(user, TimeSpan.FromMilliseconds(500), CancellationToken.None));
        Assert.Equal(RateOutcome.Refused, await limits.WaitForTransactionAsync(user, TimeSpan.FromMilliseconds(500), CancellationToken.None));
    }
}
