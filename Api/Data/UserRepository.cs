using Dapper;
using Npgsql;

namespace AccountsApi.Data;

public sealed class UserRow
{
    public long Id { get; init; }
    public string Username { get; init; } = "";
    public string Email { get; init; } = "";
    public string PasswordHash { get; init; } = "";
    public string Firstname { get; init; } = "";
    public string Lastname { get; init; } = "";
    public DateTime? DateOfBirth { get; init; }
    public string Status { get; init; } = "active";
    public string Role { get; init; } = "user";
    public DateTime? EmailVerifiedAt { get; init; }
    public int FailedLoginCount { get; init; }
    public DateTime? LockedUntil { get; init; }
    public DateTime? LastLoginAt { get; init; }
    public bool ForcePasswordReset { get; init; }
    public DateTime? TermsAcceptedAt { get; init; }
    public string? PendingEmail { get; init; }
    public DateTime CreatedAt { get; init; }
    public DateTime UpdatedAt { get; init; }

    public bool IsLocked => LockedUntil is { } until && until > DateTime.UtcNow;
}

public sealed record NewUser(
    string Username, string Email, string EmailNormalized, string PasswordHash,
    string Firstname, string Lastname, DateTime? DateOfBirth, bool TermsAccepted);

public sealed record ProfileChanges(string Username, string Firstname, string Lastname, DateTime? DateOfBirth);

public enum FailedLoginOutcome { Counted, Locked, AlreadyLocked }

public sealed class UserRepository(NpgsqlDataSource db)
{
    const string Columns = """
        id, username, email, password_hash, firstname, lastname, date_of_birth, status, role, email_verified_at,
        failed_login_count, locked_until, last_login_at, force_password_reset, terms_accepted_at, pending_email, created_at, updated_at
        """;

    // The account and its `created` audit row in one statement: both or neither.
    const string InsertSql = $"""
        with created as (
            insert into users (username, email, email_normalized, password_hash, firstname, lastname, date_of_birth, terms_accepted_at)
            values (@Username, @Email, @EmailNormalized, @PasswordHash, @Firstname, @Lastname, cast(@DateOfBirth as date),
                    case when @TermsAccepted then now() end)
            returning {Columns}
        ), audited as (
            insert into account_logs (user_id, action, ip_address, user_agent)
            select id, 'created', @IpAddress, @UserAgent from created
        )
        select * from created
        """;

    /// <summary>Inserts; the unique indexes decide races. Throws <see cref="PostgresException"/> 23505 on a duplicate.</summary>
    public async Task<UserRow> InsertAsync(NewUser user, string? ipAddress, string? userAgent)
    {
        await using var connection = await db.OpenConnectionAsync();
        return await connection.QuerySingleAsync<UserRow>(InsertSql, new
        {
            user.Username, user.Email, user.EmailNormalized, user.PasswordHash, user.Firstname, user.Lastname,
            user.DateOfBirth, user.TermsAccepted, ipAddress, userAgent,
        });
    }

    const string FindByIdSql = $"select {Columns} from users where id = @id";

    public async Task<UserRow?> FindByIdAsync(long id)
    {
        await using var connection = await db.OpenConnectionAsync();
        return await connection.QuerySingleOrDefaultAsync<UserRow>(FindByIdSql, new { id });
    }

    const string FindBySessionSql = $"""
        select {Columns} from users u
        where u.id = @userId
          and exists (select 1 from user_sessions s
                      where s.id = @sessionId and s.user_id = u.id and s.revoked_at is null and s.expires_at > now())
        """;

    /// <summary>The signed-in user, only while the session is live and belongs to them.</summary>
    public async Task<UserRow?> FindBySessionAsync(long userId, Guid sessionId)
    {
        await using var connection = await db.OpenConnectionAsync();
        return await connection.QuerySingleOrDefaultAsync<UserRow>(FindBySessionSql, new { userId, sessionId });
    }

    const string FindByLoginSql = $"""
        select {Columns} from users
        where lower(username) = lower(@login) or email_normalized = @normalizedEmail
        order by (lower(username) = lower(@login)) desc
        limit 1
        """;

    public async Task<UserRow?> FindByLoginAsync(string login, string normalizedEmail)
    {
        await using var connection = await db.OpenConnectionAsync();
        return await connection.QuerySingleOrDefaultAsync<UserRow>(FindByLoginSql, new { login, normalizedEmail });
    }

    // One atomic statement per failed attempt. The row lock serialises concurrent attempts, and the
    // where clause is re-checked after waiting, so once an attempt locks the account the others stop counting.
    const string RecordFailureSql = """
        update users set
            failed_login_count = case when failed_login_count + 1 >= @threshold then 0 else failed_login_count + 1 end,
            lockout_count      = case when failed_login_count + 1 >= @threshold then lockout_count + 1 else lockout_count end,
            locked_until       = case when failed_login_count + 1 >= @threshold
                                      then now() + least(@baseMinutes * power(2, least(lockout_count, 20)), @maxMinutes) * interval '1 minute'
                                      else locked_until end,
            updated_at = now()
        where id = @id and (locked_until is null or locked_until <= now())
        returning failed_login_count = 0 as just_locked, locked_until
        """;

    /// <summary>Counts a failed sign-in; the lock's end when this failure locked the account.</summary>
    public async Task<(FailedLoginOutcome Outcome, DateTime? LockedUntil)> RecordFailedLoginAsync(long id, int threshold, int baseMinutes, int maxMinutes)
    {
        await using var connection = await db.OpenConnectionAsync();
        var row = await connection.QuerySingleOrDefaultAsync<(bool JustLocked, DateTime? LockedUntil)?>(
            RecordFailureSql, new { id, threshold, baseMinutes, maxMinutes });
        return row switch
        {
            null => (FailedLoginOutcome.AlreadyLocked, null),
            { JustLocked: true } locked => (FailedLoginOutcome.Locked, locked.LockedUntil),
            _ => (FailedLoginOutcome.Counted, null),
        };
    }

    const string RecordSuccessSql = $"""
        update users set failed_login_count = 0, lockout_count = 0, locked_until = null, last_login_at = now(),
                         password_hash = coalesce(@newHash, password_hash), updated_at = now()
        where id = @id and status = 'active' and (locked_until is null or locked_until <= now())
        returning {Columns}
        """;

    /// <summary>The updated account, or null when it was locked or deactivated in the meantime.</summary>
    public async Task<UserRow?> RecordSuccessfulLoginAsync(long id, string? newHash)
    {
        await using var connection = await db.OpenConnectionAsync();
        return await connection.QuerySingleOrDefaultAsync<UserRow>(RecordSuccessSql, new { id, newHash });
    }

    const string UpdateProfileSql = $"""
        update users set username = @Username, firstname = @Firstname, lastname = @Lastname,
                         date_of_birth = cast(@DateOfBirth as date), updated_at = now()
        where id = @id
        returning {Columns}
        """;

    public async Task<UserRow?> UpdateProfileAsync(long id, ProfileChanges changes)
    {
        await using var connection = await db.OpenConnectionAsync();
        return await connection.QuerySingleOrDefaultAsync<UserRow>(UpdateProfileSql,
            new { id, changes.Username, changes.Firstname, changes.Lastname, changes.DateOfBirth });
    }

    const string SetPasswordSql = "update users set password_hash = @hash, force_password_reset = false, updated_at = now() where id = @id";

    public async Task SetPasswordHashAsync(long id, string hash)
    {
        await using var connection = await db.OpenConnectionAsync();
        await connection.ExecuteAsync(SetPasswordSql, new { id, hash });
    }

    const string FindByEmailSql = $"select {Columns} from users where email_normalized = @normalizedEmail";

    public async Task<UserRow?> FindByEmailAsync(string normalizedEmail)
    {
        await using var connection = await db.OpenConnectionAsync();
        return await connection.QuerySingleOrDefaultAsync<UserRow>(FindByEmailSql, new { normalizedEmail });
    }

    const string MarkVerifiedSql = $"""
        update users set email_verified_at = coalesce(email_verified_at, now()), updated_at = now()
        where id = @id and email_normalized = @normalizedEmail
        returning {Columns}
        """;

    /// <summary>Verifies the address the token was sent to, if it is still the account's address.</summary>
    public async Task<UserRow?> MarkEmailVerifiedAsync(long id, string normalizedEmail)
    {
        await using var connection = await db.OpenConnectionAsync();
        return await connection.QuerySingleOrDefaultAsync<UserRow>(MarkVerifiedSql, new { id, normalizedEmail });
    }

    const string SetPendingEmailSql = $"update users set pending_email = @email, updated_at = now() where id = @id returning {Columns}";

    public async Task<UserRow?> SetPendingEmailAsync(long id, string email)
    {
        await using var connection = await db.OpenConnectionAsync();
        return await connection.QuerySingleOrDefaultAsync<UserRow>(SetPendingEmailSql, new { id, email });
    }

    // Throws 23505 (users_email_normalized_key) when someone else took the address meanwhile.
    const string ApplyEmailChangeSql = $"""
        update users set email = pending_email, email_normalized = @normalizedEmail, pending_email = null,
                         email_verified_at = now(), updated_at = now()
        where id = @id and pending_email = @email
        returning {Columns}
        """;

    public async Task<UserRow?> ApplyEmailChangeAsync(long id, string email, string normalizedEmail)
    {
        await using var connection = await db.OpenConnectionAsync();
        return await connection.QuerySingleOrDefaultAsync<UserRow>(ApplyEmailChangeSql, new { id, email, normalizedEmail });
    }

    // One statement, so nothing is left half-deleted. The audit trail stays (user id, action, field, time,
    // IP) but the values it recorded (old and new names, addresses) go with the account; so do mails
    // addressed to it. Sessions and one-time tokens go by cascade.
    const string DeleteSql = """
        with account as (
            select id, email, email_normalized, pending_email from users where id = @id
        ), scrubbed as (
            update account_logs
            set old_value = case when old_value is not null then '[removed]' end,
                new_value = case when new_value is not null then '[removed]' end
            where user_id in (select id from account) and (old_value is not null or new_value is not null)
        ), unsent as (
            delete from email_outbox where to_address in (select email from account union all select pending_email from account)
        ), throttled as (
            delete from email_throttle where recipient in (select email_normalized from account)
        )
        delete from users where id in (select id from account)
        """;

    public async Task<bool> DeleteAsync(long id)
    {
        await using var connection = await db.OpenConnectionAsync();
        return await connection.ExecuteAsync(DeleteSql, new { id }) == 1;
    }
}
