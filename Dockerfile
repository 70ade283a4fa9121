# syntax=docker/dockerfile:1
# Sluice: build with the .NET SDK, run on the ASP.NET runtime (the proxy uses Kestrel for its HTTP endpoints).
#   docker build -t sluice .
#   docker run -p 6432:6432 -p 9930:9930 -v $PWD/proxy.toml:/etc/sluice/proxy.toml:ro sluice
# In a container, listen on 0.0.0.0 (server.listen / server.http_listen), not 127.0.0.1.

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /source

# Restore first, from the project files alone, so the package layer is cached across source edits.
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/Protocol/Sluice.Protocol.csproj src/Protocol/
COPY src/Routing/Sluice.Routing.csproj src/Routing/
COPY src/Proxy/Sluice.Proxy.csproj src/Proxy/
RUN dotnet restore src/Proxy/Sluice.Proxy.csproj

COPY src/ src/
RUN dotnet publish src/Proxy/Sluice.Proxy.csproj -c Release --no-restore -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
COPY --from=build /app ./
# The image's unprivileged user; the proxy needs no root (6432 and 9930 are not privileged ports).
USER $APP_UID
EXPOSE 6432 9930
ENTRYPOINT ["dotnet", "sluice.dll"]
CMD ["--config", "/etc/sluice/proxy.toml"]
