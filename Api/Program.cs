using AccountsApi.Data;
using AccountsApi.Endpoints;
using AccountsApi.Infrastructure;

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
    .ConfigureHttpJsonOptions(o => Json.Configure(o.SerializerOptions));

var app = builder.Build();

app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseApiRequestLogging();
app.UseRequestBodyLimit();
app.UseApiOpenApi();

app.MapHealthEndpoints();

if (verb == Cli.OpenApi) return await app.WriteOpenApiAsync(args);
if (!app.SettingsAreValid()) return 1;
if (await app.RunMigrationsAsync(connectionString, verb) is not 0 and var failed) return failed;
if (verb == Cli.Migrate) return 0;

await app.RunAsync();
return 0;

public partial class Program;
