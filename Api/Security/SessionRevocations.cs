using System.Collections.Concurrent;
using AccountsApi.Data;
using Dapper;
using Npgsql;

namespace AccountsApi.Security;

/// <summary>
/// Session ids whose access tokens must fail before they expire. Checked on every authenticated request
/// from memory; filled at start from session_revocations and kept in step across instances by
/// PostgreSQL NOTIFY session_revoked (sent in the same statement that revokes, so only on commit).
/// </summary>
public sealed class SessionRevocations
{
    public const string Channel = "session_revoked";
    readonly ConcurrentDictionary<Guid, DateTime> revoked = new();

    public bool IsRevoked(Guid sessionId) => revoked.TryGetValue(sessionId, out var until) && until > DateTime.UtcNow;

    public void Add(Guid sessionId, DateTime until) => revoked[sessionId] = until;

    public void Prune()
    {
        var now = DateTime.UtcNow;
        foreach (var (id, until) in revoked)
            if (until <= now) revoked.TryRemove(id, out _);
    }
}

/// <summary>Loads the revocations at start (before traffic) and then listens for new ones, reconnecting after failures.</summary>
public sealed class SessionRevocationListener(
    SessionRevocations revocations, ConnectionString connectionString, Tokens tokens, ILogger<SessionRevocationListener> logger)
    : BackgroundService
{
    const string LoadSql = "select session_id, expires_at from session_revocations where expires_at > now()";

    public override async Task StartAsync(CancellationToken ct)
    {
        try { await LoadAsync(ct); }
        catch (NpgsqlException e) { logger.LogWarning("Could not load revoked sessions at start: {Error}", e.Message); }
        await base.StartAsync(ct);
    }

    protected override Task ExecuteAsync(CancellationToken ct) =>
        NotificationListener.ListenAsync(connectionString.Value, SessionRevocations.Channel,
            payload =>
            {
                if (Guid.TryParse(payload, out var id)) revocations.Add(id, DateTime.UtcNow + tokens.AccessLifetime + TimeSpan.FromMinutes(1));
            },
            LoadAsync, // catches up on anything revoked while the listening connection was down
            logger, ct, idleTick: TimeSpan.FromMinutes(1), onIdle: revocations.Prune);

    async Task LoadAsync(CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(connectionString.Value);
        var rows = await connection.QueryAsync<(Guid SessionId, DateTime ExpiresAt)>(new CommandDefinition(LoadSql, cancellationToken: ct));
        foreach (var (id, until) in rows) revocations.Add(id, until);
    }
}
