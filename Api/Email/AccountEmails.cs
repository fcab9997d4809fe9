using System.Threading.Channels;
using AccountsApi.Contracts;
using AccountsApi.Data;
using AccountsApi.Infrastructure;
using AccountsApi.Security;
using Microsoft.Extensions.Options;

namespace AccountsApi.Email;

/// <summary>Queues the account mails: one-time links (throttled per recipient when a user asks) and security notices (never throttled).</summary>
public sealed class AccountEmails(
    EmailOutboxRepository outbox, EmailTokenRepository emailTokens, IOptions<EmailOptions> email, IOptions<SiteOptions> site)
{
    EmailOptions Options => email.Value;

    /// <summary>The verification mail, unless one went to this address less than EMAIL_THROTTLE_SECONDS ago.</summary>
    public async Task<bool> SendVerificationAsync(UserRow user)
    {
        if (!await TryTakeThrottleAsync(user.Email, EmailTokenRepository.VerifyEmail)) return false;
        var token = await NewTokenAsync(user.Id, EmailTokenRepository.VerifyEmail, user.Email, TimeSpan.FromHours(Options.VerificationTokenHours));
        await QueueAsync(user.Email, EmailTemplates.VerifyEmail(user.Firstname, Link("verify-email", token), Options.VerificationTokenHours));
        return true;
    }

    public async Task SendEmailChangeAsync(UserRow user, string newEmail)
    {
        var token = await NewTokenAsync(user.Id, EmailTokenRepository.EmailChange, newEmail, TimeSpan.FromHours(Options.VerificationTokenHours));
        await QueueAsync(newEmail, EmailTemplates.ConfirmEmailChange(user.Firstname, newEmail, Link("verify-email", token), Options.VerificationTokenHours));
    }

    /// <summary>The reset mail, unless one went to this address less than EMAIL_THROTTLE_SECONDS ago.</summary>
    public async Task<bool> SendPasswordResetAsync(UserRow user)
    {
        if (!await TryTakeThrottleAsync(user.Email, EmailTokenRepository.PasswordReset)) return false;
        var token = await NewTokenAsync(user.Id, EmailTokenRepository.PasswordReset, user.Email, TimeSpan.FromMinutes(Options.PasswordResetTokenMinutes));
        await QueueAsync(user.Email, EmailTemplates.PasswordReset(user.Firstname, Link("reset-password", token), Options.PasswordResetTokenMinutes));
        return true;
    }

    public Task NotifyAsync(string address, EmailContent content) => QueueAsync(address, content);

    Task<bool> TryTakeThrottleAsync(string address, string kind) =>
        outbox.TryTakeThrottleAsync(Emails.Normalize(address), kind, TimeSpan.FromSeconds(Options.ThrottleSeconds));

    async Task<string> NewTokenAsync(long userId, string purpose, string address, TimeSpan lifetime)
    {
        await emailTokens.InvalidateAsync(userId, purpose);
        var token = Tokens.NewOpaqueToken();
        await emailTokens.InsertAsync(Tokens.HashOpaqueToken(token), userId, purpose, address, lifetime);
        return token;
    }

    Task QueueAsync(string address, EmailContent content) =>
        outbox.EnqueueAsync(new NewOutboxMessage(address, content.Kind, content.Subject, content.Text, content.Html));

    string Link(string page, string token) => $"{site.Value.PublicSiteUrl.TrimEnd('/')}/{page}?token={Uri.EscapeDataString(token)}";
}

/// <summary>
/// Mail asked for by someone who is not signed in (password reset, verification resend by address).
/// The request only drops the address here and answers at once, so the answer and its timing are the
/// same whether or not an account exists; the lookup and the mail happen in the background.
/// </summary>
public sealed class AnonymousMailRequests(IServiceProvider services, ILogger<AnonymousMailRequests> logger) : BackgroundService
{
    public enum Kind { PasswordReset, Verification }

    readonly Channel<(Kind Kind, string Email)> queue = Channel.CreateBounded<(Kind, string)>(
        new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.DropOldest });

    public void Enqueue(Kind kind, string email) => queue.Writer.TryWrite((kind, email));

    protected override async Task ExecuteAsync(CancellationToken ct)
    {
        var users = services.GetRequiredService<UserRepository>();
        var emails = services.GetRequiredService<AccountEmails>();
        await foreach (var (kind, email) in queue.Reader.ReadAllAsync(ct))
        {
            try
            {
                if (await users.FindByEmailAsync(Emails.Normalize(email)) is not { } user) continue;
                if (kind == Kind.PasswordReset) await emails.SendPasswordResetAsync(user);
                else if (user.EmailVerifiedAt is null) await emails.SendVerificationAsync(user);
            }
            catch (Exception e) when (e is Npgsql.NpgsqlException or TimeoutException)
            {
                logger.LogWarning("Could not queue a {Kind} mail: {Error}", kind, e.Message);
            }
        }
    }
}
