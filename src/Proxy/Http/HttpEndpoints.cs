using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Sluice.Proxy.Observability;
using Sluice.Proxy.Runtime;

namespace Sluice.Proxy.Http;

/// <summary>
/// /health, /ready, /primary, /replica and /metrics on server.http_listen, served by Kestrel (control plane, so its
/// per-connection cost does not matter here).
/// </summary>
internal sealed class HttpEndpoints : IAsyncDisposable
{
    private readonly WebApplication _app;

    private HttpEndpoints(WebApplication app, IPEndPoint endPoint)
    {
        _app = app;
        EndPoint = endPoint;
    }

    public IPEndPoint EndPoint { get; }

    public static async Task<HttpEndpoints> StartAsync(IPEndPoint endPoint, ProxyRuntime runtime, CancellationToken cancellationToken)
    {
        // No configuration files: by default the builder reads appsettings*.json from the working directory and
        // watches it, subdirectories included, for changes — a file watcher that woke on every write to any file there
        // (a log file beside the config: a wake-up per connection logged) and, started from /, watched the whole tree.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders();
        builder.Services.Configure<ConsoleLifetimeOptions>(options => options.SuppressStatusMessages = true);
        builder.WebHost.ConfigureKestrel(options => options.Listen(endPoint));
        var app = builder.Build();

        app.MapGet("/health", () => Results.Text("ok\n"));
        app.MapGet("/ready", () => runtime.IsReady ? Results.Text("ready\n") : Results.Text("draining or paused\n", statusCode: 503));
        app.MapGet("/primary", () => Probe(runtime.Health.AllDatabasesHavePrimary(), "primary"));
        app.MapGet("/replica", () => Probe(runtime.Health.AllDatabasesHaveReplica(), "replica"));

        app.MapGet("/metrics", async (HttpContext context) =>
        {
            context.Response.ContentType = SluiceMetrics.ContentType;
            await runtime.Metrics.WriteToAsync(context.Response.Body, context.RequestAborted);
        });

        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var bound = new Uri(address);
        return new HttpEndpoints(app, new IPEndPoint(endPoint.Address, bound.Port));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private static IResult Probe((bool Ok, string Detail) state, string what) =>
        state.Ok ? Results.Text($"{what} ok\n") : Results.Text($"no healthy {what}: {state.Detail}\n", statusCode: 503);
}
