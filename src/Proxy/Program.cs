using Sluice.Proxy.Cli;
using Sluice.Proxy.Transport;

SocketEngineSettings.Apply();
return await CommandLine.RunAsync(args);
