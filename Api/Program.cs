using AccountsApi.Data;
using AccountsApi.Endpoints;
using AccountsApi.Infrastructure;
using AccountsApi.Security;

var verb = Cli.Verb(args);
var builder = WebApplication.CreateBuilder(Hosting.Options(args));
builder.UseDefaultUrl().AddApiLogging();
var (connectionString, localDatabase) = await builder.ResolveDatabaseAsync(verb);
await using var stopLocalDatabaseOnExit = localDatabase;

builder.Services
    .AddSettings(builder.Configuration)
    .AddDatabase(connectionString)
    .AddApiProblemDetails()
    .AddApiOpenApi()
    .AddApiHealthChecks()
    .AddApiRateLimits()
    .AddWebSecurity()
    .AddAccounts()
    .ConfigureHttpJsonOptions(o => Json.Configure(o.SerializerOptions));
if (verb is null) builder.Services.AddBackgroundWork();

var app = builder.Build();
if (verb != Cli.OpenApi && !app.SettingsAreValid()) return 1;

app.UseTrustedProxies();
app.UseApiRequestLogging();
app.UseSecurityHeaders();
app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseRequestBodyLimit();
app.UseApiOpenApi();
app.UseRouting();
app.UseCors();
app.UseOriginGuard();
app.UseAuthentication();
app.UseAuthorization();
app.UseRateLimiter();

app.MapHealthEndpoints();
app.MapAuthEndpoints();
app.MapAccountEndpoints();
app.MapSessionEndpoints();
app.MapEmailEndpoints();

if (verb == Cli.OpenApi) return await app.WriteOpenApiAsync(args);
if (await app.RunMigrationsAsync(connectionString, verb) is not 0 and var failed) return failed;
if (verb == Cli.Migrate) return 0;

return await app.ServeAsync();

public partial class Program;
