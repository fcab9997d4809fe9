using AccountsApi.Security;
using Dapper;
using Npgsql;

namespace AccountsApi.Data;

public sealed class SessionRow
{
    public Guid Id { get; init; }
    public long UserId { get; init; }
    public string? UserAgent { get; init; }
    public string? IpAddress { get; init; }
    public DateTime CreatedAt { get; init; }
    public DateTime LastSeenAt { get; init; }
    public DateTime ExpiresAt { get; init; }
}

/// <summary>What a presented refresh token turned out to be.</summary>
public sealed class RefreshTokenRow
{
    public Guid SessionId { get; init; }
    public long UserId { get; init; }
    public DateTime? ReplacedAt { get; init; }
    public DateTime? RevokedAt { get; init; }
    public DateTime ExpiresAt { get; init; }
    public string Username { get; init; } = "";
    public string Role { get; init; } = "";
    public string Status { get; init; } = "";
}

public sealed class SessionRepository(NpgsqlDataSource db, SessionRevocations revocations, Tokens tokens)
{
    const string CreateSql = """
        with session as (
            insert into user_sessions (id, user_id, user_agent, ip_address, expires_at)
            values (@id, @userId, @userAgent, @ipAddress, @expiresAt)
            returning id
        )
        insert into refresh_tokens (token_hash, session_id) select @tokenHash, id from session
        """;

    public async Task CreateAsync(Guid id, long userId, string? userAgent, string? ipAddress, DateTime expiresAt, byte[] tokenHash)
    {
        await using var connection = await db.OpenConnectionAsync();
        await connection.ExecuteAsync(CreateSql, new { id, userId, userAgent, ipAddress, expiresAt, tokenHash });
    }

    const string SignedInFromSql = """
        select case when not exists (select 1 from user_sessions where user_id = @userId) then null
                    else exists (select 1 from user_sessions
                                 where user_id = @userId and ip_address is not distinct from @ipAddress
                                   and user_agent is not distinct from @userAgent) end
        """;

    /// <summary>Whether the user signed in before from this IP and device; null for a first sign-in ever.</summary>
    public async Task<bool?> HasSignedInFromAsync(long userId, string? ipAddress, string? userAgent)
    {
        await using var connection = await db.OpenConnectionAsync();
        return await connection.QuerySingleAsync<bool?>(SignedInFromSql, new { userId, ipAddress, userAgent });
    }

    const string FindTokenSql = """
        select t.session_id, s.user_id, t.replaced_at, s.revoked_at, s.expires_at, u.username, u.role, u.status
        from refresh_tokens t
        join user_sessions s on s.id = t.session_id
        join users u on u.id = s.user_id
        where t.token_hash = @tokenHash
        """;

    public async Task<RefreshTokenRow?> FindRefreshTokenAsync(byte[] tokenHash)
    {
        await using var connection = await db.OpenConnectionAsync();
        return await connection.QuerySingleOrDefaultAsync<RefreshTokenRow>(FindTokenSql, new { tokenHash });
    }

    // Marks the presented token replaced and stores its successor in one statement. The presented token
    // may already be replaced only within the grace window (two tabs refreshing together).
    const string RotateSql = """
        with presented as (
            update refresh_tokens set replaced_at = coalesce(replaced_at, now())
            where token_hash = @oldHash and (replaced_at is null or replaced_at > now() - @grace)
            returning session_id
        ), touched as (
            update user_sessions set last_seen_at = now(), ip_address = @ipAddress, user_agent = @userAgent
            where id in (select session_id from presented) and revoked_at is null and expires_at > now()
            returning id
        )
        insert into refresh_tokens (token_hash, session_id) select @newHash, id from touched
        """;

    /// <summary>False when the token is no longer acceptable (replaced outside the grace window, or the session ended).</summary>
    public async Task<bool> RotateAsync(byte[] oldHash, byte[] newHash, TimeSpan grace, string? ipAddress, string? userAgent)
    {
        await using var connection = await db.OpenConnectionAsync();
        return await connection.ExecuteAsync(RotateSql, new { oldHash, newHash, grace, ipAddress, userAgent }) == 1;
    }

    const string ListActiveSql = """
        select id, user_id, user_agent, ip_address, created_at, last_seen_at, expires_at
        from user_sessions
        where user_id = @userId and revoked_at is null and expires_at > now()
        order by last_seen_at desc
        """;

    public async Task<IReadOnlyList<SessionRow>> ListActiveAsync(long userId)
    {
        await using var connection = await db.OpenConnectionAsync();
        return (await connection.QueryAsync<SessionRow>(ListActiveSql, new { userId })).AsList();
    }

    // Revokes, records the revocation for instances that start later, and tells running instances, in one
    // statement: the NOTIFY is delivered only if the revocation commits.
    const string RevokeSql = """
        with revoked as (
            update user_sessions set revoked_at = now(), revoked_reason = @reason
            where user_id = @userId and revoked_at is null
              and (@onlyId is null or id = @onlyId)
              and (@exceptId is null or id <> @exceptId)
            returning id
        ), recorded as (
            insert into session_revocations (session_id, expires_at)
            select id, @until from revoked
            on conflict (session_id) do nothing
        )
        select id from revoked, pg_notify('session_revoked', id::text) as notified
        """;

    public Task<IReadOnlyList<Guid>> RevokeAsync(long userId, Guid sessionId, string reason) => Revoke(userId, sessionId, null, reason);

    public Task<IReadOnlyList<Guid>> RevokeAllAsync(long userId, string reason) => Revoke(userId, null, null, reason);

    public Task<IReadOnlyList<Guid>> RevokeAllExceptAsync(long userId, Guid keep, string reason) => Revoke(userId, null, keep, reason);

    async Task<IReadOnlyList<Guid>> Revoke(long userId, Guid? onlyId, Guid? exceptId, string reason)
    {
        var until = DateTime.UtcNow + tokens.AccessLifetime + TimeSpan.FromMinutes(1);
        await using var connection = await db.OpenConnectionAsync();
        var ids = (await connection.QueryAsync<Guid>(RevokeSql, new { userId, onlyId, exceptId, reason, until })).AsList();
        // this instance need not wait for its own notification
        foreach (var id in ids) revocations.Add(id, until);
        return ids;
    }
}
