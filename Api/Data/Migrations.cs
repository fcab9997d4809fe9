using System.Reflection;
using FluentMigrator;
using FluentMigrator.Runner;
using Npgsql;

namespace AccountsApi.Data;

/// <summary>Runs the hand-written SQL files in migrations/ (embedded into this assembly), in order, once each.</summary>
public static class SchemaMigrator
{
    // Any constant will do; it only has to be the same for every instance of the API.
    const long AdvisoryLockKey = 0x4163636f756e7473; // "Accounts"

    public static async Task MigrateAsync(string connectionString, ILoggerFactory loggerFactory, CancellationToken ct = default)
    {
        // Several instances may start together: the advisory lock lets exactly one migrate at a time.
        await using var lockConnection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);
        await lockConnection.OpenAsync(ct);
        await using (var take = new NpgsqlCommand($"select pg_advisory_lock({AdvisoryLockKey})", lockConnection))
            await take.ExecuteNonQueryAsync(ct);
        try
        {
            using var services = new ServiceCollection()
                .AddSingleton(loggerFactory)
                .AddLogging()
                .AddFluentMigratorCore()
                .ConfigureRunner(runner => runner
                    .AddPostgres()
                    .WithGlobalConnectionString(connectionString)
                    .ScanIn(typeof(SchemaMigrator).Assembly).For.Migrations().For.EmbeddedResources())
                .BuildServiceProvider(validateScopes: false);
            services.GetRequiredService<IMigrationRunner>().MigrateUp();
        }
        finally
        {
            await using var release = new NpgsqlCommand($"select pg_advisory_unlock({AdvisoryLockKey})", lockConnection);
            await release.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }

    /// <summary>The embedded SQL file names, for the test that every file has a migration class.</summary>
    public static IEnumerable<string> EmbeddedScripts() =>
        typeof(SchemaMigrator).Assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith("migrations.", StringComparison.Ordinal))
            .Select(n => n["migrations.".Length..]);

    public static IEnumerable<(long Version, string Script)> Migrations() =>
        typeof(SchemaMigrator).Assembly.GetTypes()
            .Where(t => t.IsSubclassOf(typeof(SqlFileMigration)) && !t.IsAbstract)
            .Select(t => (t.GetCustomAttribute<MigrationAttribute>()!.Version, ((SqlFileMigration)Activator.CreateInstance(t)!).Script));
}

/// <summary>A migration that is one SQL file from migrations/. Forward-only: the schema never goes back.</summary>
public abstract class SqlFileMigration(string script) : ForwardOnlyMigration
{
    public string Script { get; } = script;
    public override void Up() => Execute.EmbeddedScript(Script);
}

[Migration(1, "users, sessions, refresh tokens, audit log")]
public sealed class CreateUsers() : SqlFileMigration("0001_create_users.sql");

[Migration(2, "revoked sessions, for the in-memory revocation set")]
public sealed class CreateSessionRevocations() : SqlFileMigration("0002_session_revocations.sql");

[Migration(3, "email outbox, one-time email tokens, per-recipient throttle, pending email")]
public sealed class CreateEmail() : SqlFileMigration("0003_email.sql");

[Migration(4, "index for the new-device check")]
public sealed class AddSessionLookupIndex() : SqlFileMigration("0004_session_lookup_index.sql");
