using Sluice.Proxy.Cli;

return await CommandLine.RunAsync(args);
