using System.Net;
using Sluice.Proxy.Configuration;
using Sluice.Proxy.Limits;
using Sluice.Proxy.Observability;
using Sluice.Proxy.Pooling;
using Sluice.Proxy.Tests.Observability;
using Sluice.Proxy.Tests.Security;

namespace Sluice.Proxy.Tests.Limits;

public sealed class ClientLimitsTests
{
    private static readonly DatabaseConfig Shop = new() { Name = "shop", MaxClientConnections = 2 };
    private static readonly DatabaseConfig Other = new() { Name = "other" };
    private static readonly UserConfig App = new() { Name = "app" };

    private readonly SluiceMetrics _metrics = new();

    [Fact]
    public async Task A_database_over_its_client_cap_refuses_naming_it_and_other_databases_still_admit()
    {
        var limits = new ClientLimits(_metrics, new ManualTimeProvider());
        Assert.Null(await limits.AdmitLoginAsync(App, Shop, new LimitsSection(), CancellationToken.None));
        Assert.Null(await limits.AdmitLoginAsync(App, Shop, new LimitsSection(), CancellationToken.None));

        var refusal = await limits.AdmitLoginAsync(App, Shop, new LimitsSection(), CancellationToken.None);

        Assert.Equal(new LimitRefusal("too many connections for database \"shop\" (max_client_connections)", RejectionReason.DatabaseCap), refusal);
        Assert.Null(await limits.AdmitLoginAsync(App, Other, new LimitsSection(), CancellationToken.None));

        limits.LeaveDatabase("shop");
        Assert.Null(await limits.AdmitLoginAsync(App, Shop, new LimitsSection(), CancellationToken.None));
    }

    [Fact]
    public async Task A_users_connection_over_its_rate_is_refused_without_a_wait_and_counts_against_no_database_cap()
    {
        var limits = new ClientLimits(_metrics, new ManualTimeProvider());
        var user = App with { ConnectionRate = 1 };
        var noWait = new LimitsSection { ConnectionRateWait = TimeSpan.Zero };
        Assert.Null(await limits.AdmitLoginAsync(user, Shop, noWait, CancellationToken.None));

        var refusal = await limits.AdmitLoginAsync(user, Shop, noWait, CancellationToken.None);

        Assert.Equal(new LimitRefusal("connection rate limit: too many new connections for user \"app\" (connection_rate)", RejectionReason.ConnectionRate), refusal);
        Assert.Null(await limits.AdmitLoginAsync(App, Shop, noWait, CancellationToken.None)); // the refused one took no slot of the cap of 2
    }

    [Fact]
    public async Task Connections_that_waited_for_the_users_rate_are_admitted_and_counted_per_database_and_user()
    {
        // The clock stands still, so the burst of 10 never refills: the 11th connection is given the next token
        // (100 ms ahead), waits for it and is admitted.
        var limits = new ClientLimits(_metrics, new ManualTimeProvider());
        var user = App with { ConnectionRate = 10 };
        var wait = new LimitsSection { ConnectionRateWait = TimeSpan.FromSeconds(5) };

        for (var i = 0; i < 11; i++)
        {
            Assert.Null(await limits.AdmitLoginAsync(user, Other, wait, CancellationToken.None));
        }

        Assert.Equal(1, ScrapeText.Value(await _metrics.ScrapeAsync(), "sluice_rate_limited_waits_total{database=\"other\",user=\"app\"}"));
    }

    [Fact]
    public async Task An_address_over_the_connection_rate_is_refused_and_another_address_is_not()
    {
        var limits = new ClientLimits(_metrics, new ManualTimeProvider());
        var settings = new LimitsSection { ConnectionRate = 1, ConnectionRateWait = TimeSpan.Zero };
        var first = new IPEndPoint(IPAddress.Parse("127.0.0.1"), 5000);
        Assert.Null(await limits.AdmitConnectionAsync(first, settings, CancellationToken.None));

        var refusal = await limits.AdmitConnectionAsync(first, settings, CancellationToken.None);

        Assert.Equal(RejectionReason.ConnectionRate, refusal?.Reason);
        Assert.Contains("limits.connection_rate", refusal?.Message, StringComparison.Ordinal);
        Assert.Null(await limits.AdmitConnectionAsync(new IPEndPoint(IPAddress.Parse("127.0.0.2"), 5000), settings, CancellationToken.None));
    }

    [Fact]
    public async Task A_transaction_whose_token_comes_after_checkout_timeout_fails_as_a_checkout_timeout_and_is_counted()
    {
        var limits = new ClientLimits(_metrics, new ManualTimeProvider());
        var user = App with { TransactionRate = 1 };
        await limits.WaitForTransactionAsync("shop", user, TimeSpan.FromMilliseconds(500), CancellationToken.None);

        var timeout = await Assert.ThrowsAsync<PoolTimeoutException>(
            async () => await limits.WaitForTransactionAsync("shop", user, TimeSpan.FromMilliseconds(500), CancellationToken.None));

        Assert.Contains("transaction_rate (1/s)", timeout.Message, StringComparison.Ordinal);
        Assert.Contains("checkout_timeout (0.5s)", timeout.Message, StringComparison.Ordinal);
        Assert.Equal(1, ScrapeText.Value(await _metrics.ScrapeAsync(), "sluice_rate_limited_waits_total{database=\"shop\",user=\"app\"}"));
    }
}
