# syntax=docker/dockerfile:1
# AccountsApi: build with the .NET 10 SDK, run on the ASP.NET Core 10 runtime as a non-root user.

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
ENV DOTNET_CLI_TELEMETRY_OPTOUT=1 \
    DOTNET_NOLOGO=1

# Restore first (cached until a project or package version changes).
COPY *.props ./
COPY Api/Api.csproj Api/
RUN dotnet restore Api/Api.csproj

# Then the sources: Api/ plus migrations/*.sql, which are embedded into the assembly.
COPY . .
RUN dotnet publish Api/Api.csproj -c Release --no-restore -o /app/publish -p:UseAppHost=false -p:SkipOpenApi=true

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
# Listen on every interface inside the container; the image's own ASPNETCORE_HTTP_PORTS is cleared so
# only ASPNETCORE_URLS applies.
ENV ASPNETCORE_URLS=http://0.0.0.0:8080 \
    ASPNETCORE_HTTP_PORTS= \
    DOTNET_CLI_TELEMETRY_OPTOUT=1 \
    ENVIRONMENT=Production
COPY --from=build --chown=root:root /app/publish ./
# The aspnet image ships a non-root "app" user; $APP_UID is its numeric id.
USER $APP_UID
EXPOSE 8080
ENTRYPOINT ["dotnet", "AccountsApi.dll"]
