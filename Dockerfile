# syntax=docker/dockerfile:1
# Osvi.Bridge container image: SDK stage builds and publishes (no tests), the runtime stage is the
# chiseled ASP.NET image (no shell, no package manager, non-root by default).
ARG DOTNET_VERSION=10.0

FROM mcr.microsoft.com/dotnet/sdk:${DOTNET_VERSION} AS build
WORKDIR /src
# Restore first, from the project files only, so the package layer is cached across code changes.
# global.json (the SDK band for local builds and CI) is left out on purpose: the SDK image's own
# .NET 10 SDK builds the same code.
COPY Directory.Build.props Directory.Packages.props appsettings.json ./
COPY src/Osvi.Bridge/Osvi.Bridge.csproj src/Osvi.Bridge/
# As publishing restores (for the build platform: the project's ReadyToRun needs its runtime pack and
# compiler), so that the publish below finds everything here and the layer stays cached.
RUN dotnet restore src/Osvi.Bridge/Osvi.Bridge.csproj -p:_IsPublishing=true
COPY src/ src/
# The same command CI runs and starts (tests/Osvi.Bridge.IntegrationTests/Core/PublishedBuildTests.cs).
RUN dotnet publish src/Osvi.Bridge/Osvi.Bridge.csproj -c Release -o /app /p:UseAppHost=false

FROM mcr.microsoft.com/dotnet/aspnet:${DOTNET_VERSION}-noble-chiseled AS runtime
WORKDIR /app
COPY --from=build /app ./
# DOTNET_GCgen0size: the GC sizes its youngest generation from the CPU's cache, tens of MB on large
# server CPUs, and a relay allocates steadily, so RSS followed the cache, not the work: bench scenario b
# (5,000 queued messages) peaked at 186 MB with the default and 131 MB with 4 MB (bench/README.md).
# Only the environment variable reaches this GC setting; the benchmark sets the same value.
ENV ASPNETCORE_HTTP_PORTS=8080 \
    DOTNET_ENVIRONMENT=Production \
    DOTNET_GCgen0size=0x400000
EXPOSE 8080
# The chiseled image defines the non-root "app" user (UID in $APP_UID); say so explicitly.
USER $APP_UID
STOPSIGNAL SIGTERM
# No shell or curl in this image: the bridge probes its own /healthz.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["dotnet", "/app/Osvi.Bridge.dll", "healthcheck"]
ENTRYPOINT ["dotnet", "/app/Osvi.Bridge.dll"]
