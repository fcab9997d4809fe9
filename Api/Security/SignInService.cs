using AccountsApi.Contracts;
using AccountsApi.Data;
using AccountsApi.Email;
using AccountsApi.Infrastructure;
using Microsoft.Extensions.Options;

namespace AccountsApi.Security;

public sealed record SignedIn(UserRow User, Guid SessionId, AccessToken Access, string RefreshToken, DateTime RefreshExpires);

public enum SignInRefusal
{
    /// <summary>Unknown user, wrong password, locked or inactive: one answer for all.</summary>
    InvalidCredentials,
    /// <summary>Right password, but REQUIRE_VERIFIED_EMAIL is on and the address is not verified yet.</summary>
    EmailNotVerified,
    /// <summary>Right password, but an admin asked for a reset: the site should start one.</summary>
    PasswordResetRequired,
}

public sealed record SignInOutcome(SignedIn? SignedIn, SignInRefusal? Refusal)
{
    public static SignInOutcome Refused(SignInRefusal refusal) => new(null, refusal);
}

/// <summary>
/// Password sign-in. Unknown user, wrong password, locked and inactive accounts all end in the same
/// null (one 401 body), after the same amount of hashing work.
/// </summary>
public sealed class SignInService(
    UserRepository users, SessionRepository sessions, AccountLogRepository logs, AccountEmails emails,
    PasswordHasher hasher, Tokens tokens, IOptions<SecurityOptions> security, IOptions<EmailOptions> email, ILogger<SignInService> logger)
{
    static readonly SignInOutcome Invalid = SignInOutcome.Refused(SignInRefusal.InvalidCredentials);

    public async Task<SignInOutcome> SignInAsync(string login, string password, ClientInfo client)
    {
        var user = await users.FindByLoginAsync(login.Trim(), Emails.Normalize(login));
        if (user is null)
        {
            await hasher.VerifyDummyAsync(password);
            return Invalid;
        }

        var check = await hasher.VerifyAsync(password, user.PasswordHash);
        if (!check.Valid)
        {
            await RecordFailureAsync(user, client);
            return Invalid;
        }
        if (user.IsLocked || user.Status != "active")
        {
            await logs.WriteAsync(new AccountLogEntry(user.Id, "login_failed", client.IpAddress, client.UserAgent,
                NewValue: user.IsLocked ? "locked" : user.Status));
            return Invalid;
        }
        // Past this point the caller has proved the password, so a specific answer reveals nothing.
        if (user.ForcePasswordReset)
        {
            await logs.WriteAsync(new AccountLogEntry(user.Id, "login_failed", client.IpAddress, client.UserAgent, NewValue: "password_reset_required"));
            return SignInOutcome.Refused(SignInRefusal.PasswordResetRequired);
        }
        if (email.Value.RequireVerifiedEmail && user.EmailVerifiedAt is null)
        {
            await logs.WriteAsync(new AccountLogEntry(user.Id, "login_failed", client.IpAddress, client.UserAgent, NewValue: "email_not_verified"));
            return SignInOutcome.Refused(SignInRefusal.EmailNotVerified);
        }

        var newHash = check.NeedsRehash ? await hasher.HashAsync(password) : null;
        if (await users.RecordSuccessfulLoginAsync(user.Id, newHash) is not { } signedInUser)
        {
            // locked or deactivated between the read and now
            await logs.WriteAsync(new AccountLogEntry(user.Id, "login_failed", client.IpAddress, client.UserAgent, NewValue: "locked"));
            return Invalid;
        }

        var knownDevice = await sessions.HasSignedInFromAsync(user.Id, client.IpAddress, client.UserAgent);
        var signedIn = await StartSessionAsync(signedInUser, client);
        if (knownDevice == false)
            await emails.NotifyAsync(user.Email, EmailTemplates.NewSignIn(user.Firstname, client.IpAddress, client.UserAgent, DateTime.UtcNow));
        var entries = new List<AccountLogEntry> { new(user.Id, "login", client.IpAddress, client.UserAgent) };
        if (user.LockedUntil is not null) entries.Add(new(user.Id, "unlocked", client.IpAddress, client.UserAgent, NewValue: "lock expired"));
        if (newHash is not null) entries.Add(new(user.Id, "password_rehashed", client.IpAddress, client.UserAgent));
        await logs.WriteAsync(entries);
        return new SignInOutcome(signedIn, null);
    }

    public async Task<SignedIn> StartSessionAsync(UserRow user, ClientInfo client)
    {
        var sessionId = Guid.NewGuid();
        var refresh = Tokens.NewOpaqueToken();
        var refreshExpires = DateTime.UtcNow + tokens.RefreshLifetime;
        await sessions.CreateAsync(sessionId, user.Id, client.UserAgent, client.IpAddress, refreshExpires, Tokens.HashOpaqueToken(refresh));
        return new SignedIn(user, sessionId, tokens.CreateAccessToken(user.Id, user.Username, user.Role, sessionId), refresh, refreshExpires);
    }

    async Task RecordFailureAsync(UserRow user, ClientInfo client)
    {
        var options = security.Value;
        var (outcome, lockedUntil) = await users.RecordFailedLoginAsync(user.Id, options.LockoutThreshold, options.LockoutMinutes, options.LockoutMaxMinutes);
        await logs.WriteAsync(new AccountLogEntry(user.Id, "login_failed", client.IpAddress, client.UserAgent,
            NewValue: outcome == FailedLoginOutcome.AlreadyLocked ? "locked" : "wrong_password"));
        if (outcome == FailedLoginOutcome.Locked)
        {
            await logs.WriteAsync(new AccountLogEntry(user.Id, "locked", client.IpAddress, client.UserAgent));
            logger.LogWarning("Account {UserId} locked after {Threshold} failed sign-ins", user.Id, options.LockoutThreshold);
            await emails.NotifyAsync(user.Email, EmailTemplates.AccountLocked(user.Firstname, lockedUntil ?? DateTime.UtcNow));
        }
    }
}
