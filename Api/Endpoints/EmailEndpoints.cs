using System.Security.Claims;
using AccountsApi.Contracts;
using AccountsApi.Data;
using AccountsApi.Email;
using AccountsApi.Infrastructure;
using AccountsApi.Security;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;

namespace AccountsApi.Endpoints;

/// <summary>The /accounts routes that work through mailed one-time links: verification and password reset.</summary>
public static class EmailEndpoints
{
    public static IEndpointRouteBuilder MapEmailEndpoints(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/accounts").WithTags("Email").WithValidation().WithStandardProblems().ProducesValidationProblem();
        group.MapPost("/verify-email", VerifyEmail).WithName(nameof(VerifyEmail)).ProducesProblem(StatusCodes.Status409Conflict)
            .WithSummary("Confirm an email address (after registration, or a change of address) with the token from the mailed link.");
        group.MapPost("/verify-email/resend", ResendVerification).WithName(nameof(ResendVerification))
            .RequireRateLimiting(RateLimits.Password)
            .WithSummary("Send the verification mail again (at most one a minute per address). Always 202 with the same body.");
        group.MapPost("/password-reset/request", RequestPasswordReset).WithName(nameof(RequestPasswordReset))
            .RequireRateLimiting(RateLimits.Password)
            .WithSummary("Mail a password-reset link. Always 202 with the same body, whether or not the address has an account.");
        group.MapPost("/password-reset/confirm", ConfirmPasswordReset).WithName(nameof(ConfirmPasswordReset))
            .RequireRateLimiting(RateLimits.Password)
            .WithSummary("Set a new password with the token from the mailed link. Ends every session and lifts a lockout; does not sign in.");
        return routes;
    }

    public static async Task<Results<Ok<VerifyEmailResponse>, ProblemHttpResult>> VerifyEmail(
        VerifyEmailRequest request, HttpContext http, EmailTokenRepository emailTokens, UserRepository users,
        AccountLogRepository logs, AccountEmails emails)
    {
        var token = await emailTokens.ConsumeAsync(Tokens.HashOpaqueToken(request.Token!), EmailTokenRepository.VerifyEmail, EmailTokenRepository.EmailChange);
        if (token is null) return InvalidToken();

        var client = ClientInfo.From(http);
        if (token.Purpose == EmailTokenRepository.VerifyEmail)
        {
            if (await users.MarkEmailVerifiedAsync(token.UserId, Emails.Normalize(token.Email)) is not { } verified) return InvalidToken();
            await logs.WriteAsync(new AccountLogEntry(verified.Id, "email_verified", client.IpAddress, client.UserAgent, Field: "email", NewValue: verified.Email));
            return TypedResults.Ok(new VerifyEmailResponse("Your email address is confirmed.", verified.Email, true));
        }

        var before = await users.FindByIdAsync(token.UserId);
        UserRow? changed;
        try
        {
            changed = await users.ApplyEmailChangeAsync(token.UserId, token.Email, Emails.Normalize(token.Email));
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            return AccountEndpoints.EmailTaken();
        }
        if (before is null || changed is null) return InvalidToken();
        await logs.WriteAsync(new AccountLogEntry(changed.Id, "updated", client.IpAddress, client.UserAgent, "email", before.Email, changed.Email));
        await emails.NotifyAsync(before.Email, EmailTemplates.EmailChanged(before.Firstname, changed.Email));
        return TypedResults.Ok(new VerifyEmailResponse("Your new email address is confirmed.", changed.Email, true));
    }

    public static async Task<Accepted<MessageResponse>> ResendVerification(
        ResendVerificationRequest request, ClaimsPrincipal principal, UserRepository users, AccountEmails emails, AnonymousMailRequests anonymous)
    {
        if (request.Email is null && principal.Identity?.IsAuthenticated == true)
        {
            if (await users.FindBySessionAsync(principal.UserId(), principal.SessionId()) is { EmailVerifiedAt: null } user)
                await emails.SendVerificationAsync(user);
        }
        else if (request.Email is not null)
        {
            anonymous.Enqueue(AnonymousMailRequests.Kind.Verification, request.Email);
        }
        return TypedResults.Accepted((string?)null, new MessageResponse(
            "If the address belongs to an account that is not verified yet, a verification mail is on its way."));
    }

    public static Accepted<MessageResponse> RequestPasswordReset(PasswordResetRequest request, AnonymousMailRequests anonymous)
    {
        anonymous.Enqueue(AnonymousMailRequests.Kind.PasswordReset, request.Email!);
        return TypedResults.Accepted((string?)null, new MessageResponse(
            "If an account uses this address, a mail with a link to reset the password is on its way."));
    }

    public static async Task<Results<Ok<MessageResponse>, ProblemHttpResult>> ConfirmPasswordReset(
        PasswordResetConfirmRequest request, HttpContext http, EmailTokenRepository emailTokens, UserRepository users,
        SessionRepository sessions, AccountLogRepository logs, AccountEmails emails, PasswordHasher hasher)
    {
        var userId = await emailTokens.ResetPasswordAsync(Tokens.HashOpaqueToken(request.Token!), await hasher.HashAsync(request.NewPassword!));
        if (userId is not { } id) return InvalidToken();

        await sessions.RevokeAllAsync(id, "password_reset");
        var client = ClientInfo.From(http);
        await logs.WriteAsync(new AccountLogEntry(id, "password_changed", client.IpAddress, client.UserAgent,
            Field: "password", OldValue: "[redacted]", NewValue: "[redacted] (reset by email)"));
        if (await users.FindByIdAsync(id) is { } user) await emails.NotifyAsync(user.Email, EmailTemplates.PasswordChanged(user.Firstname));
        return TypedResults.Ok(new MessageResponse("Your password has been changed. Sign in with the new one."));
    }

    static ProblemHttpResult InvalidToken() =>
        Problems.Problem(StatusCodes.Status400BadRequest, "invalid_token", "This link is invalid, expired or already used. Ask for a new one.");
}
