using System.Security.Claims;
using AccountsApi.Contracts;
using AccountsApi.Data;
using AccountsApi.Email;
using AccountsApi.Infrastructure;
using AccountsApi.Security;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.ModelBinding;
using Npgsql;

namespace AccountsApi.Endpoints;

public static class AccountEndpoints
{
    public static IEndpointRouteBuilder MapAccountEndpoints(this IEndpointRouteBuilder routes)
    {
        var accounts = routes.MapGroup("/accounts").WithTags("Accounts").WithValidation().WithStandardProblems().ProducesValidationProblem();
        accounts.MapPost("/register", Register).WithName(nameof(Register)).RequireRateLimiting(RateLimits.Register)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .WithSummary("Create an account. 409 `username_taken` / `email_taken` when either is in use.");

        var me = accounts.MapGroup("/me").RequireAuthorization();
        me.MapGet("", GetAccount).WithName(nameof(GetAccount)).WithSummary("The signed-in account.");
        me.MapPatch("", UpdateAccount).WithName(nameof(UpdateAccount)).ProducesProblem(StatusCodes.Status409Conflict)
            .WithSummary("Change username, names or date of birth; only the fields sent change. Each change is audited.");
        me.MapDelete("", DeleteAccount).WithName(nameof(DeleteAccount))
            .WithSummary("Delete the account (needs the password). Personal data goes; the audit trail stays with the user id.")
            .WithDescription("Body `{password}`. With LEGACY_CLIENTS=true, a bearer-token request (the predecessor's pages) may omit the body.");
        me.MapPost("/password", ChangePassword).WithName(nameof(ChangePassword)).RequireRateLimiting(RateLimits.Password)
            .WithSummary("Change the password (needs the current one). Ends every other session.");
        me.MapGet("/activity", GetActivity).WithName(nameof(GetActivity))
            .WithSummary("The account's audit log, newest first: sign-ins, failures, locks, changes.");

        accounts.MapPost("/reset-password", ChangePasswordLegacy).WithName(nameof(ChangePasswordLegacy))
            .RequireAuthorization().RequireRateLimiting(RateLimits.Password)
            .WithSummary("The predecessor's password change, `{old_password, new_password}`: same as POST /accounts/me/password.");
        return routes;
    }

    public static async Task<Results<Created<AccountResponse>, ProblemHttpResult>> Register(
        RegisterRequest request, HttpContext http, UserRepository users, PasswordHasher hasher, AccountEmails emails)
    {
        var hash = await hasher.HashAsync(request.Password!);
        var client = ClientInfo.From(http);
        UserRow user;
        try
        {
            user = await users.InsertAsync(new NewUser(request.Username!, request.Email!.Trim(), Emails.Normalize(request.Email),
                hash, request.Firstname!, request.Lastname!, request.DateOfBirth?.ToDateTime(TimeOnly.MinValue), request.AcceptTerms == true),
                client.IpAddress, client.UserAgent);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            return Duplicate(e);
        }
        await emails.SendVerificationAsync(user);
        return TypedResults.Created("/accounts/me", AccountResponse.From(user));
    }

    static ProblemHttpResult Duplicate(PostgresException e) => e.ConstraintName == "users_email_normalized_key"
        ? EmailTaken()
        : Problems.Problem(StatusCodes.Status409Conflict, "username_taken", "This username is taken.");

    internal static ProblemHttpResult EmailTaken() =>
        Problems.Problem(StatusCodes.Status409Conflict, "email_taken", "An account with this email address already exists.");

    public static async Task<Results<Ok<AccountResponse>, ProblemHttpResult>> GetAccount(ClaimsPrincipal principal, UserRepository users) =>
        await users.FindBySessionAsync(principal.UserId(), principal.SessionId()) is { } user
            ? TypedResults.Ok(AccountResponse.From(user))
            : SessionEnded();

    public static async Task<Results<Ok<AccountResponse>, ProblemHttpResult>> UpdateAccount(
        UpdateAccountRequest request, ClaimsPrincipal principal, HttpContext http, UserRepository users, AccountLogRepository logs,
        AccountEmails emails)
    {
        if (await users.FindBySessionAsync(principal.UserId(), principal.SessionId()) is not { } user) return SessionEnded();
        // A different address (after normalisation) starts a change; the same one is no change at all.
        var requested = request.Email?.Trim();
        var newEmailKey = requested is null ? null : Emails.Normalize(requested);
        var newEmail = newEmailKey is not null && newEmailKey != Emails.Normalize(user.Email) ? requested : null;
        // Early answer for the common case; the unique index decides for real when the change is confirmed.
        if (newEmail is not null && await users.FindByEmailAsync(newEmailKey!) is not null) return EmailTaken();

        var changes = new ProfileChanges(
            request.Username ?? user.Username,
            request.Firstname ?? user.Firstname,
            request.Lastname ?? user.Lastname,
            request.DateOfBirth.IsSet ? request.DateOfBirth.Value?.ToDateTime(TimeOnly.MinValue) : user.DateOfBirth);
        UserRow updated;
        try
        {
            updated = await users.UpdateProfileAsync(user.Id, changes) ?? user;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            return Duplicate(e);
        }

        var client = ClientInfo.From(http);
        var entries = Changed(user, updated)
            .Select(c => new AccountLogEntry(user.Id, "updated", client.IpAddress, client.UserAgent, c.Field, c.Old, c.New))
            .ToList();
        // A new address takes effect only once confirmed from a mail sent to it; until then it is pending.
        if (newEmail is not null)
        {
            updated = await users.SetPendingEmailAsync(user.Id, newEmail) ?? updated;
            await emails.SendEmailChangeAsync(updated, newEmail);
            entries.Add(new AccountLogEntry(user.Id, "email_change_requested", client.IpAddress, client.UserAgent, "pending_email", user.PendingEmail, newEmail));
        }
        await logs.WriteAsync(entries);
        return TypedResults.Ok(AccountResponse.From(updated));
    }

    static IEnumerable<(string Field, string? Old, string? New)> Changed(UserRow before, UserRow after)
    {
        if (before.Username != after.Username) yield return ("username", before.Username, after.Username);
        if (before.Firstname != after.Firstname) yield return ("firstname", before.Firstname, after.Firstname);
        if (before.Lastname != after.Lastname) yield return ("lastname", before.Lastname, after.Lastname);
        if (before.DateOfBirth != after.DateOfBirth)
            yield return ("date_of_birth", before.DateOfBirth?.ToString("yyyy-MM-dd"), after.DateOfBirth?.ToString("yyyy-MM-dd"));
    }

    public static async Task<Results<Ok<MessageResponse>, ProblemHttpResult, ValidationProblem>> DeleteAccount(
        [FromBody(EmptyBodyBehavior = EmptyBodyBehavior.Allow)] DeleteAccountRequest? request, ClaimsPrincipal principal, HttpContext http,
        UserRepository users, SessionRepository sessions, AccountLogRepository logs, PasswordHasher hasher, AuthCookies cookies)
    {
        if (await users.FindBySessionAsync(principal.UserId(), principal.SessionId()) is not { } user) return SessionEnded();
        // The predecessor's pages delete with a bearer token and no body; everyone else proves the password again.
        if (string.IsNullOrEmpty(request?.Password))
        {
            if (!http.IsLegacyBearerRequest())
                return Problems.Validation(new Dictionary<string, string[]> { ["password"] = ["is required to delete the account"] });
        }
        else if (!(await hasher.VerifyAsync(request.Password, user.PasswordHash)).Valid) return WrongPassword();

        // Revoke first, so the revocations are recorded and broadcast before the cascade removes the sessions.
        await sessions.RevokeAllAsync(user.Id, "account_deleted");
        await users.DeleteAsync(user.Id);
        var client = ClientInfo.From(http);
        await logs.WriteAsync(new AccountLogEntry(user.Id, "deleted", client.IpAddress, client.UserAgent));
        cookies.Clear(http.Response);
        return TypedResults.Ok(new MessageResponse("The account has been deleted."));
    }

    public static Task<Results<Ok<MessageResponse>, ProblemHttpResult>> ChangePassword(
        ChangePasswordRequest request, ClaimsPrincipal principal, HttpContext http,
        UserRepository users, SessionRepository sessions, AccountLogRepository logs, PasswordHasher hasher, AccountEmails emails,
        AuthCookies cookies) =>
        ChangePasswordCore(request.CurrentPassword!, request.NewPassword!, principal, http, users, sessions, logs, hasher, emails, cookies);

    public static Task<Results<Ok<MessageResponse>, ProblemHttpResult>> ChangePasswordLegacy(
        LegacyChangePasswordRequest request, ClaimsPrincipal principal, HttpContext http,
        UserRepository users, SessionRepository sessions, AccountLogRepository logs, PasswordHasher hasher, AccountEmails emails,
        AuthCookies cookies) =>
        ChangePasswordCore(request.OldPassword!, request.NewPassword!, principal, http, users, sessions, logs, hasher, emails, cookies);

    static async Task<Results<Ok<MessageResponse>, ProblemHttpResult>> ChangePasswordCore(
        string current, string next, ClaimsPrincipal principal, HttpContext http,
        UserRepository users, SessionRepository sessions, AccountLogRepository logs, PasswordHasher hasher, AccountEmails emails,
        AuthCookies cookies)
    {
        if (await users.FindBySessionAsync(principal.UserId(), principal.SessionId()) is not { } user) return SessionEnded();
        if (!(await hasher.VerifyAsync(current, user.PasswordHash)).Valid) return WrongPassword();

        await users.SetPasswordHashAsync(user.Id, await hasher.HashAsync(next));
        var revoked = await sessions.RevokeAllExceptAsync(user.Id, principal.SessionId(), "password_changed");
        var client = ClientInfo.From(http);
        await logs.WriteAsync(new AccountLogEntry(user.Id, "password_changed", client.IpAddress, client.UserAgent,
            Field: "password", OldValue: "[redacted]", NewValue: "[redacted]"));
        await emails.NotifyAsync(user.Email, EmailTemplates.PasswordChanged(user.Firstname));
        cookies.ClearUsername(http.Response); // the predecessor's pages sign in again after a password change
        return TypedResults.Ok(new MessageResponse(revoked.Count == 0
            ? "The password has been changed."
            : $"The password has been changed and {revoked.Count} other session(s) signed out."));
    }

    public static async Task<Results<Ok<ActivityResponse>, ProblemHttpResult>> GetActivity(
        ClaimsPrincipal principal, AccountLogRepository logs, int? page, int? pageSize)
    {
        var p = Math.Max(1, page ?? 1);
        var size = Math.Clamp(pageSize ?? 50, 1, 200);
        var rows = await logs.ListAsync(principal.UserId(), p, size);
        return TypedResults.Ok(new ActivityResponse(rows.Select(ActivityItem.From).ToList(), p, size));
    }

    internal static ProblemHttpResult SessionEnded() =>
        Problems.Problem(StatusCodes.Status401Unauthorized, ErrorCodes.Unauthorized, "The session has ended; sign in again.");

    static ProblemHttpResult WrongPassword() =>
        Problems.Problem(StatusCodes.Status403Forbidden, "invalid_password", "The password is incorrect.");
}
