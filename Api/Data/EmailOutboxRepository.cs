using Dapper;
using Npgsql;

namespace AccountsApi.Data;

public sealed class OutboxMessage
{
    public long Id { get; init; }
    public string ToAddress { get; init; } = "";
    public string Kind { get; init; } = "";
    public string Subject { get; init; } = "";
    public string TextBody { get; init; } = "";
    public string HtmlBody { get; init; } = "";
    public int Attempts { get; init; }
}

public sealed record NewOutboxMessage(string ToAddress, string Kind, string Subject, string TextBody, string HtmlBody);

public sealed class EmailOutboxRepository(NpgsqlDataSource db)
{
    public const string Channel = "email_outbox";

    // pg_notify wakes the senders at once; it is delivered only if the insert commits.
    const string EnqueueSql = """
        with queued as (
            insert into email_outbox (to_address, kind, subject, text_body, html_body)
            values (@ToAddress, @Kind, @Subject, @TextBody, @HtmlBody)
            returning id
        )
        select pg_notify('email_outbox', id::text) from queued
        """;

    public async Task EnqueueAsync(NewOutboxMessage message)
    {
        await using var connection = await db.OpenConnectionAsync();
        await connection.ExecuteAsync(EnqueueSql, message);
    }

    // SKIP LOCKED lets several API instances drain the outbox together without taking the same mail.
    // A claim that outlives its deadline (a sender that died mid-send) becomes claimable again.
    const string ClaimSql = """
        with due as (
            select id from email_outbox
            where (status = 'pending' and next_attempt_at <= now())
               or (status = 'sending' and claimed_until < now())
            order by next_attempt_at, id
            limit @batch
            for update skip locked
        )
        update email_outbox o
        set status = 'sending', claimed_until = now() + @claimFor, attempts = o.attempts + 1
        from due
        where o.id = due.id
        returning o.id, o.to_address, o.kind, o.subject, o.text_body, o.html_body, o.attempts
        """;

    public async Task<IReadOnlyList<OutboxMessage>> ClaimDueAsync(int batch, TimeSpan claimFor)
    {
        await using var connection = await db.OpenConnectionAsync();
        return (await connection.QueryAsync<OutboxMessage>(ClaimSql, new { batch, claimFor })).AsList();
    }

    const string MarkSentSql = """
        update email_outbox set status = 'sent', sent_at = now(), claimed_until = null, last_error = null
        where id = @id and status = 'sending'
        """;

    public async Task MarkSentAsync(long id)
    {
        await using var connection = await db.OpenConnectionAsync();
        await connection.ExecuteAsync(MarkSentSql, new { id });
    }

    const string MarkFailedSql = """
        update email_outbox
        set status = case when attempts >= @maxAttempts then 'failed' else 'pending' end,
            next_attempt_at = now() + @retryIn, claimed_until = null, last_error = @error
        where id = @id and status = 'sending'
        """;

    public async Task MarkFailedAsync(long id, string error, TimeSpan retryIn, int maxAttempts)
    {
        await using var connection = await db.OpenConnectionAsync();
        await connection.ExecuteAsync(MarkFailedSql, new { id, error, retryIn, maxAttempts });
    }

    // The per-recipient limit for user-triggered mail: one atomic upsert, so concurrent requests cannot both pass.
    const string ThrottleSql = """
        insert into email_throttle (recipient, kind, last_sent_at) values (@recipient, @kind, now())
        on conflict (recipient, kind) do update set last_sent_at = now()
        where email_throttle.last_sent_at <= now() - @window
        returning true
        """;

    public async Task<bool> TryTakeThrottleAsync(string recipient, string kind, TimeSpan window)
    {
        await using var connection = await db.OpenConnectionAsync();
        return await connection.QuerySingleOrDefaultAsync<bool?>(ThrottleSql, new { recipient, kind, window }) == true;
    }
}

public sealed class EmailTokenRow
{
    public long UserId { get; init; }
    public string Purpose { get; init; } = "";
    public string Email { get; init; } = "";
}

public sealed class EmailTokenRepository(NpgsqlDataSource db)
{
    public const string VerifyEmail = "verify_email";
    public const string PasswordReset = "password_reset";
    public const string EmailChange = "email_change";

    const string InsertSql = """
        insert into email_tokens (token_hash, user_id, purpose, email, expires_at)
        values (@tokenHash, @userId, @purpose, @email, now() + @lifetime)
        """;

    public async Task InsertAsync(byte[] tokenHash, long userId, string purpose, string email, TimeSpan lifetime)
    {
        await using var connection = await db.OpenConnectionAsync();
        await connection.ExecuteAsync(InsertSql, new { tokenHash, userId, purpose, email, lifetime });
    }

    // Single use: the first caller marks it used; any other gets nothing back.
    const string ConsumeSql = """
        update email_tokens set used_at = now()
        where token_hash = @tokenHash and purpose = any(@purposes) and used_at is null and expires_at > now()
        returning user_id, purpose, email
        """;

    public async Task<EmailTokenRow?> ConsumeAsync(byte[] tokenHash, params string[] purposes)
    {
        await using var connection = await db.OpenConnectionAsync();
        return await connection.QuerySingleOrDefaultAsync<EmailTokenRow>(ConsumeSql, new { tokenHash, purposes });
    }

    const string ConsumeResetAndSetPasswordSql = """
        with token as (
            update email_tokens set used_at = now()
            where token_hash = @tokenHash and purpose = 'password_reset' and used_at is null and expires_at > now()
            returning user_id
        )
        update users u
        set password_hash = @passwordHash, force_password_reset = false, failed_login_count = 0, lockout_count = 0,
            locked_until = null, updated_at = now(),
            -- the reset mail reached this inbox, which proves the address
            email_verified_at = coalesce(u.email_verified_at, now())
        from token
        where u.id = token.user_id
        returning u.id
        """;

    /// <summary>Uses the reset token and sets the password in one statement; null when the token is not valid.</summary>
    public async Task<long?> ResetPasswordAsync(byte[] tokenHash, string passwordHash)
    {
        await using var connection = await db.OpenConnectionAsync();
        return await connection.QuerySingleOrDefaultAsync<long?>(ConsumeResetAndSetPasswordSql, new { tokenHash, passwordHash });
    }

    const string InvalidateSql = "update email_tokens set used_at = now() where user_id = @userId and purpose = @purpose and used_at is null";

    /// <summary>Older unused tokens of the same purpose stop working when a new one is sent.</summary>
    public async Task InvalidateAsync(long userId, string purpose)
    {
        await using var connection = await db.OpenConnectionAsync();
        await connection.ExecuteAsync(InvalidateSql, new { userId, purpose });
    }
}
