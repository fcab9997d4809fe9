using Dapper;
using Npgsql;

namespace AccountsApi.Data;

/// <summary>Deletes rows nothing needs any more, so the tables that grow with traffic stay small.</summary>
public sealed class MaintenanceRepository(NpgsqlDataSource db)
{
    const string PruneSql = """
        delete from session_revocations where expires_at < now();
        delete from user_sessions where expires_at < now() - interval '30 days';
        delete from email_tokens where expires_at < now() - interval '7 days';
        delete from email_throttle where last_sent_at < now() - interval '1 day';
        delete from email_outbox where status = 'sent' and sent_at < now() - interval '30 days';
        """;

    public async Task PruneAsync(CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition(PruneSql, cancellationToken: ct));
    }
}

/// <summary>Runs the prune hourly (every instance may; the deletes are idempotent).</summary>
public sealed class MaintenanceService(MaintenanceRepository maintenance, ILogger<MaintenanceService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromHours(1));
        do
        {
            try { await maintenance.PruneAsync(ct); }
            catch (Exception e) when (e is NpgsqlException or TimeoutException)
            {
                logger.LogWarning("Pruning old rows failed: {Error}", e.Message);
            }
        } while (await timer.WaitForNextTickAsync(ct));
    }
}
