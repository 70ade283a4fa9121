namespace Sluice.Proxy.Demo;

/// <summary>`sluice demo`: a throwaway primary + streaming replica, a config for them, the proxy on 127.0.0.1:6432.</summary>
internal static class DemoCommand
{
    public static Task<int> RunAsync(string[] args) => throw new NotImplementedException();
}
