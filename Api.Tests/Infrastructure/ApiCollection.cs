using AccountsApi.Infrastructure;
using Npgsql;
using Respawn;

namespace AccountsApi.Tests.Infrastructure;

[CollectionDefinition(Name)]
public sealed class ApiCollection : ICollectionFixture<ApiFixture>
{
    public const string Name = "api";
}

/// <summary>
/// One throwaway PostgreSQL cluster (or TEST_DATABASE_URL) and one app for the whole collection.
/// The first app start runs the migrations; Respawn then empties every table but the migration history.
/// </summary>
public sealed class ApiFixture : IAsyncLifetime
{
    LocalPostgres? cluster;
    Respawner? respawner;

    public ApiFactory Factory { get; private set; } = null!;
    public string ConnectionString { get; private set; } = null!;

    /// <summary>A real SMTP server in this process: every mail the app sends lands here.</summary>
    public TestSmtpServer Smtp { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var external = Environment.GetEnvironmentVariable("TEST_DATABASE_URL");
        if (string.IsNullOrEmpty(external))
        {
            cluster = await LocalPostgres.StartAsync(Path.Combine(Path.GetTempPath(), $"accountsapi-tests-{Guid.NewGuid():N}"), removeOnDispose: true);
            ConnectionString = cluster.ConnectionString;
        }
        else ConnectionString = external;

        Smtp = await TestSmtpServer.StartAsync();
        Factory = new ApiFactory(ConnectionString, SmtpSettings(Smtp));
        _ = Factory.Server; // starts the app: migrations run here
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        respawner = await Respawner.CreateAsync(connection, new RespawnerOptions
        {
            DbAdapter = DbAdapter.Postgres,
            SchemasToInclude = ["public"],
            TablesToIgnore = ["VersionInfo"],
            WithReseed = true,
        });
    }

    public static IReadOnlyDictionary<string, string?> SmtpSettings(TestSmtpServer smtp) => new Dictionary<string, string?>
    {
        ["SMTP_HOST"] = smtp.Host,
        ["SMTP_PORT"] = smtp.Port.ToString(),
        ["SMTP_TLS"] = "none",
        ["SMTP_FROM"] = "AccountsApi <accounts@example.test>",
    };

    public async Task ResetDatabaseAsync()
    {
        if (!Smtp.IsRunning) await Smtp.RestartAsync();
        Smtp.Clear();
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await respawner!.ResetAsync(connection);
    }

    public async Task DisposeAsync()
    {
        await Factory.DisposeAsync();
        await Smtp.DisposeAsync();
        if (cluster is not null) await cluster.DisposeAsync();
    }
}

/// <summary>Base for HTTP tests: a clean database before each test, and the shared app.</summary>
[Collection(ApiCollection.Name)]
public abstract class ApiTest(ApiFixture fixture) : IAsyncLifetime
{
    protected ApiFixture Fixture { get; } = fixture;
    protected ApiFactory Factory => Fixture.Factory;

    public virtual Task InitializeAsync() => Fixture.ResetDatabaseAsync();
    public virtual Task DisposeAsync() => Task.CompletedTask;
}
