using AccountsApi.Contracts;
using AccountsApi.Data;
using AccountsApi.Infrastructure;
using Microsoft.Extensions.Options;

namespace AccountsApi.Security;

public sealed record SignedIn(UserRow User, Guid SessionId, AccessToken Access, string RefreshToken, DateTime RefreshExpires);

/// <summary>
/// Password sign-in. Unknown user, wrong password, locked and inactive accounts all end in the same
/// null (one 401 body), after the same amount of hashing work.
/// </summary>
public sealed class SignInService(
    UserRepository users, SessionRepository sessions, AccountLogRepository logs,
    PasswordHasher hasher, Tokens tokens, IOptions<SecurityOptions> security, ILogger<SignInService> logger)
{
    public async Task<SignedIn?> SignInAsync(string login, string password, ClientInfo client)
    {
        var user = await users.FindByLoginAsync(login.Trim(), Emails.Normalize(login));
        if (user is null)
        {
            hasher.VerifyDummy(password);
            return null;
        }

        var check = hasher.Verify(password, user.PasswordHash);
        if (!check.Valid)
        {
            await RecordFailureAsync(user, client, "wrong_password");
            return null;
        }
        if (user.IsLocked || user.Status != "active")
        {
            await logs.WriteAsync(new AccountLogEntry(user.Id, "login_failed", client.IpAddress, client.UserAgent,
                NewValue: user.IsLocked ? "locked" : user.Status));
            return null;
        }

        var newHash = check.NeedsRehash ? hasher.Hash(password) : null;
        if (await users.RecordSuccessfulLoginAsync(user.Id, newHash) is not { } signedInUser)
        {
            // locked or deactivated between the read and now
            await logs.WriteAsync(new AccountLogEntry(user.Id, "login_failed", client.IpAddress, client.UserAgent, NewValue: "locked"));
            return null;
        }

        var signedIn = await StartSessionAsync(signedInUser, client);
        var entries = new List<AccountLogEntry> { new(user.Id, "login", client.IpAddress, client.UserAgent) };
        if (user.LockedUntil is not null) entries.Add(new(user.Id, "unlocked", client.IpAddress, client.UserAgent, NewValue: "lock expired"));
        if (newHash is not null) entries.Add(new(user.Id, "password_rehashed", client.IpAddress, client.UserAgent));
        await logs.WriteAsync(entries);
        return signedIn;
    }

    public async Task<SignedIn> StartSessionAsync(UserRow user, ClientInfo client)
    {
        var sessionId = Guid.NewGuid();
        var refresh = Tokens.NewRefreshToken();
        var refreshExpires = DateTime.UtcNow + tokens.RefreshLifetime;
        await sessions.CreateAsync(sessionId, user.Id, client.UserAgent, client.IpAddress, refreshExpires, Tokens.HashRefreshToken(refresh));
        return new SignedIn(user, sessionId, tokens.CreateAccessToken(user.Id, user.Username, user.Role, sessionId), refresh, refreshExpires);
    }

    async Task RecordFailureAsync(UserRow user, ClientInfo client, string reason)
    {
        var options = security.Value;
        var outcome = await users.RecordFailedLoginAsync(user.Id, options.LockoutThreshold, options.LockoutMinutes, options.LockoutMaxMinutes);
        var entries = new List<AccountLogEntry>
        {
            new(user.Id, "login_failed", client.IpAddress, client.UserAgent,
                NewValue: outcome == FailedLoginOutcome.AlreadyLocked ? "locked" : reason),
        };
        if (outcome == FailedLoginOutcome.Locked)
        {
            entries.Add(new(user.Id, "locked", client.IpAddress, client.UserAgent));
            logger.LogWarning("Account {UserId} locked after {Threshold} failed sign-ins", user.Id, options.LockoutThreshold);
        }
        await logs.WriteAsync(entries);
    }
}
