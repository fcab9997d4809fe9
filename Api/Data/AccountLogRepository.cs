using Dapper;
using Npgsql;

namespace AccountsApi.Data;

public sealed class AccountLogRow
{
    public long Id { get; init; }
    public long? UserId { get; init; }
    public string Action { get; init; } = "";
    public string? Field { get; init; }
    public string? OldValue { get; init; }
    public string? NewValue { get; init; }
    public string? IpAddress { get; init; }
    public string? UserAgent { get; init; }
    public DateTime CreatedAt { get; init; }
}

public sealed record AccountLogEntry(
    long? UserId, string Action, string? IpAddress, string? UserAgent, string? Field = null, string? OldValue = null, string? NewValue = null);

public sealed class AccountLogRepository(NpgsqlDataSource db)
{
    const string InsertSql = """
        insert into account_logs (user_id, action, field, old_value, new_value, ip_address, user_agent)
        values (@UserId, @Action, @Field, @OldValue, @NewValue, @IpAddress, @UserAgent)
        """;

    public async Task WriteAsync(params IReadOnlyList<AccountLogEntry> entries)
    {
        if (entries.Count == 0) return;
        await using var connection = await db.OpenConnectionAsync();
        await connection.ExecuteAsync(InsertSql, entries);
    }

    const string ListSql = """
        select id, user_id, action, field, old_value, new_value, ip_address, user_agent, created_at
        from account_logs
        where user_id = @userId
        order by created_at desc, id desc
        limit @limit offset @offset
        """;

    public async Task<IReadOnlyList<AccountLogRow>> ListAsync(long userId, int page, int pageSize)
    {
        await using var connection = await db.OpenConnectionAsync();
        return (await connection.QueryAsync<AccountLogRow>(ListSql, new { userId, limit = pageSize, offset = (page - 1) * pageSize })).AsList();
    }
}
