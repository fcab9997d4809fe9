using AccountsApi.Data;
using Microsoft.Extensions.Options;

namespace AccountsApi.Infrastructure;

public static class Hosting
{
    public const string DefaultUrl = "http://127.0.0.1:5000";

    /// <summary>
    /// ENVIRONMENT (Development|Production) decides, from the environment or the command line;
    /// ASP.NET's own ASPNETCORE_ENVIRONMENT is the fallback; Production by default.
    /// </summary>
    public static WebApplicationOptions Options(string[] args)
    {
        var configuration = new ConfigurationBuilder().AddEnvironmentVariables().AddCommandLine(args).Build();
        var name = configuration["ENVIRONMENT"] ?? configuration["ASPNETCORE_ENVIRONMENT"] ?? configuration["DOTNET_ENVIRONMENT"];
        // The document is the same in every environment; generating it must need no secrets.
        if (Cli.Verb(args) == Cli.OpenApi) name = Environments.Development;
        return new WebApplicationOptions
        {
            Args = args,
            EnvironmentName = name?.Trim().ToLowerInvariant() switch
            {
                null or "" => Environments.Production,
                "development" or "dev" => Environments.Development,
                "production" or "prod" => Environments.Production,
                _ => name.Trim(),
            },
        };
    }

    /// <summary>
    /// Where relative paths (.data/) are rooted: the repository (the folder holding AccountsApi.sln) when
    /// run from a checkout, whichever folder `dotnet run` starts in; otherwise the current directory.
    /// </summary>
    public static string WorkingRoot()
    {
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "AccountsApi.sln"))) return dir.FullName;
        return Directory.GetCurrentDirectory();
    }

    /// <summary>--urls / ASPNETCORE_URLS win; otherwise loopback only, port 5000.</summary>
    public static WebApplicationBuilder UseDefaultUrl(this WebApplicationBuilder builder)
    {
        if (string.IsNullOrEmpty(builder.Configuration[WebHostDefaults.ServerUrlsKey])
            && string.IsNullOrEmpty(builder.Configuration["ASPNETCORE_HTTP_PORTS"])
            && string.IsNullOrEmpty(builder.Configuration["HTTP_PORTS"]))
            builder.WebHost.UseUrls(DefaultUrl);
        builder.WebHost.ConfigureKestrel((context, kestrel) =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = context.Configuration.GetValue<long?>("MAX_REQUEST_BODY_BYTES") ?? 1024 * 1024;
        });
        return builder;
    }

    /// <summary>
    /// The connection string from DATABASE_URL; when it is unset, a local cluster under .data/postgres is
    /// started; the caller disposes it on exit, which stops it if this process started it. The openapi verb needs no database.
    /// </summary>
    public static async Task<(string ConnectionString, LocalPostgres? Local)> ResolveDatabaseAsync(this WebApplicationBuilder builder, string? verb)
    {
        var options = new DatabaseOptions();
        builder.Configuration.Bind(options);
        if (verb == Cli.OpenApi) return (Database.ToConnectionString("Host=127.0.0.1;Database=openapi", options), null);
        if (!string.IsNullOrWhiteSpace(options.Url)) return (Database.ToConnectionString(options.Url, options), null);

        var local = await LocalPostgres.StartAsync(LocalPostgres.DefaultDataDirectory(), removeOnDispose: false);
        Console.WriteLine($"DATABASE_URL is unset: using the local PostgreSQL in {local.DataDirectory} on 127.0.0.1:{local.Port}.");
        return (Database.ToConnectionString(local.ConnectionString, options), local);
    }

    /// <summary>Prints every bad setting on one line each and answers false, so Program can exit 1.</summary>
    public static bool SettingsAreValid(this WebApplication app)
    {
        var errors = SettingsExtensions.FindSettingErrors(app.Services);
        foreach (var error in errors) Console.Error.WriteLine($"AccountsApi cannot start: {error}");
        return errors.Count == 0;
    }
}

public static class Cli
{
    public const string Migrate = "migrate";
    public const string OpenApi = "openapi";

    /// <summary>The first argument when it is a verb; anything else starts the web host.</summary>
    public static string? Verb(string[] args) => args.FirstOrDefault() is Migrate or OpenApi ? args[0] : null;

    public static async Task<int> RunMigrationsAsync(this WebApplication app, string connectionString, string? verb)
    {
        if (verb != Migrate && !app.Services.GetRequiredService<IOptions<DatabaseOptions>>().Value.MigrateOnStart) return 0;
        try
        {
            await SchemaMigrator.MigrateAsync(connectionString, app.Services.GetRequiredService<ILoggerFactory>());
            return 0;
        }
        catch (Exception e) when (e is Npgsql.NpgsqlException or System.Net.Sockets.SocketException or TimeoutException)
        {
            Console.Error.WriteLine($"AccountsApi cannot start: the database is unreachable or refused the migration ({e.GetBaseException().Message}). Check DATABASE_URL.");
            return 1;
        }
    }

    /// <summary>Serves until shut down; a port already in use is one clear line, not a stack trace.</summary>
    public static async Task<int> ServeAsync(this WebApplication app)
    {
        try
        {
            await app.RunAsync();
            return 0;
        }
        catch (IOException e) when (e.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException)
        {
            Console.Error.WriteLine($"AccountsApi cannot start: {e.Message} Stop the other process or choose another address with --urls.");
            return 1;
        }
    }

    public static async Task<int> WriteOpenApiAsync(this WebApplication app, string[] args)
    {
        // Minimal-API endpoints reach the API explorer only once the pipeline is built, i.e. when the host
        // starts: start it briefly on a throwaway loopback port. No request is served and no database is opened.
        app.Urls.Clear();
        app.Urls.Add("http://127.0.0.1:0");
        await app.StartAsync();
        var json = await Infrastructure.OpenApi.GenerateJsonAsync(app.Services);
        await app.StopAsync();
        var path = args.Length > 1 ? args[1] : "openapi.json";
        await File.WriteAllTextAsync(path, json);
        return 0;
    }
}
