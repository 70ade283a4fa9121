using Sluice.Proxy.Limits;

namespace Sluice.Proxy.Tests.Limits;

public sealed class CapTests
{
    [Fact]
    public void Client_cap_counts_per_name_and_forgets_names_with_none_left()
    {
        var counter = new CapCounter();
        Assert.True(counter.TryAdd("shop", 2));
        Assert.True(counter.TryAdd("shop", 2));
        Assert.False(counter.TryAdd("shop", 2));
        Assert.True(counter.TryAdd("other", 2));
        Assert.Equal(2, counter.Count("shop"));

        counter.Remove("shop");
        Assert.True(counter.TryAdd("shop", 2));

        counter.Remove("other");
        Assert.Equal(0, counter.Count("other"));
    }

    [Fact]
    public void Zero_is_no_cap_and_a_lowered_cap_keeps_those_already_counted()
    {
        var counter = new CapCounter();
        for (var i = 0; i < 100; i++)
        {
            Assert.True(counter.TryAdd("shop", 0));
        }

        Assert.False(counter.TryAdd("shop", 5));
        Assert.Equal(100, counter.Count("shop"));
    }

    [Fact]
    public async Task A_pool_refused_by_a_server_cap_is_told_when_a_slot_is_freed()
    {
        var cap = new ServerCap(2);
        var first = new Member();
        var second = new Member();
        cap.Join(first);
        cap.Join(second);
        Assert.True(cap.TryAcquire(first));
        Assert.True(cap.TryAcquire(first));

        Assert.False(cap.TryAcquire(second));
        Assert.False(second.SlotFreed.Task.IsCompleted);

        cap.Release();
        await second.SlotFreed.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(cap.TryAcquire(second));
        Assert.Equal(2, cap.Count);
    }

    [Fact]
    public async Task A_refused_pool_makes_another_member_close_an_idle_server()
    {
        var cap = new ServerCap(1);
        var holder = new Member(cap) { IdleServers = 1 };
        var asking = new Member();
        cap.Join(holder);
        cap.Join(asking);
        Assert.True(cap.TryAcquire(holder));

        Assert.False(cap.TryAcquire(asking));

        // The holder closes its idle server (which frees the slot), and the asking pool is told.
        await asking.SlotFreed.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, holder.IdleServers);
        Assert.Equal(0, asking.IdleServers);
    }

    [Fact]
    public async Task Warming_up_without_a_claim_closes_no_one_elses_idle_server()
    {
        var cap = new ServerCap(1);
        var holder = new Member(cap) { IdleServers = 1 };
        var warming = new Member();
        cap.Join(holder);
        cap.Join(warming);
        Assert.True(cap.TryAcquire(holder));

        Assert.False(cap.TryAcquire(warming, claim: false));

        // A claim made afterwards is served by the holder's idle server, so had the first attempt asked, it would be gone too.
        var asking = new Member();
        cap.Join(asking);
        Assert.False(cap.TryAcquire(asking));
        await asking.SlotFreed.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(warming.SlotFreed.Task.IsCompleted);
        Assert.Equal(0, holder.IdleServers);
    }

    [Fact]
    public async Task Raising_the_cap_on_reload_lets_a_refused_pool_go_on()
    {
        var cap = new ServerCap(1);
        var member = new Member();
        cap.Join(member);
        Assert.True(cap.TryAcquire(member));
        Assert.False(cap.TryAcquire(member));

        cap.Max = 2;

        await member.SlotFreed.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(cap.TryAcquire(member));
    }

    [Fact]
    public void Lowering_the_cap_below_the_servers_open_marks_it_exceeded_until_enough_are_released()
    {
        var database = new ServerCap(3);
        var caps = new PoolServerCaps(database, new ServerCap(0));
        var member = new Member();
        caps.Join(member);
        for (var i = 0; i < 3; i++)
        {
            Assert.True(caps.TryAcquire(member));
        }

        Assert.False(caps.IsExceeded);

        database.Max = 1;
        Assert.True(caps.IsExceeded);
        Assert.Equal(3, database.Count); // nothing open is taken away by the reload itself

        caps.Release();
        Assert.True(caps.IsExceeded);
        caps.Release();
        Assert.False(caps.IsExceeded);
        Assert.False(caps.TryAcquire(member));
    }

    [Fact]
    public void A_pool_slot_is_taken_from_both_caps_or_from_neither()
    {
        var database = new ServerCap(5);
        var user = new ServerCap(1);
        var caps = new PoolServerCaps(database, user);
        var member = new Member();
        caps.Join(member);

        Assert.True(caps.TryAcquire(member));
        Assert.False(caps.TryAcquire(member));
        Assert.Equal(1, database.Count);

        caps.Release();
        Assert.Equal(0, database.Count);
        Assert.Equal(0, user.Count);
    }

    [Theory]
    [InlineData(2, 1, 0, 2)]
    [InlineData(2, 1, 199, 2)]
    [InlineData(2, 1, 200, 3)]
    [InlineData(2, 0, 5000, 2)]
    public void Reserve_opens_only_after_the_oldest_client_waited_the_timeout(int size, int reserve, int waitedMs, int limit) =>
        Assert.Equal(limit, ReservePolicy.Limit(size, reserve, TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(waitedMs)));

    [Theory]
    [InlineData(3, false, true)]
    [InlineData(3, true, false)]
    [InlineData(4, true, true)]
    [InlineData(2, false, false)]
    public void A_server_above_the_size_goes_unless_a_client_waits_for_it_within_the_reserve(int total, bool waiting, bool surplus) =>
        Assert.Equal(surplus, ReservePolicy.IsSurplus(total, size: 2, reserveSize: 1, waiting));

    private sealed class Member(ServerCap? cap = null) : IServerCapMember
    {
        public TaskCompletionSource SlotFreed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int IdleServers { get; set; }

        public void OnCapSlotFreed() => SlotFreed.TrySetResult();

        public bool TryCloseIdleServer()
        {
            if (IdleServers == 0)
            {
                return false;
            }

            IdleServers--;
            cap?.Release();
            return true;
        }
    }
}
