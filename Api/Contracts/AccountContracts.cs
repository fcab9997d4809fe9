using AccountsApi.Data;
using AccountsApi.Infrastructure;
using AccountsApi.Security;
using FluentValidation;
using Microsoft.Extensions.Options;

namespace AccountsApi.Contracts;

/// <summary>A new account. `date_of_birth` is optional; `accept_terms` must be true.</summary>
public sealed record RegisterRequest(
    string? Username, string? Email, string? Password, string? Firstname, string? Lastname, DateOnly? DateOfBirth, bool? AcceptTerms);

/// <summary>The account as its owner sees it. Never carries a password or hash.</summary>
public record AccountResponse(
    long Id, string Username, string Email, string Firstname, string Lastname, DateOnly? DateOfBirth,
    string Status, string Role, bool EmailVerified, string? PendingEmail, DateTime CreatedAt, DateTime UpdatedAt, DateTime? LastLogin)
{
    public static AccountResponse From(UserRow user) => new(
        user.Id, user.Username, user.Email, user.Firstname, user.Lastname,
        user.DateOfBirth is { } dob ? DateOnly.FromDateTime(dob) : null,
        user.Status, user.Role, user.EmailVerifiedAt is not null, user.PendingEmail, user.CreatedAt, user.UpdatedAt, user.LastLoginAt);
}

/// <summary>A form login's answer with LEGACY_CLIENTS=true: the account plus the bearer token the predecessor's pages keep.</summary>
public sealed record LegacyLoginResponse : AccountResponse
{
    public LegacyLoginResponse(AccountResponse account) : base(account) { }

    public required string AccessToken { get; init; }
    public required string TokenType { get; init; }
    /// <summary>Seconds until the access token expires.</summary>
    public required int ExpiresIn { get; init; }
}

/// <summary>
/// Only the fields present change; `"date_of_birth": null` clears the date. A new `email` is held as
/// `pending_email` until confirmed from the mail sent to it; the old address is told once it changes.
/// </summary>
public sealed record UpdateAccountRequest(
    string? Username, string? Firstname, string? Lastname,
    [property: NJsonSchema.Annotations.JsonSchemaType(typeof(DateOnly?))] Optional<DateOnly?> DateOfBirth,
    string? Email);

public sealed record DeleteAccountRequest(string? Password);

public sealed record ChangePasswordRequest(string? CurrentPassword, string? NewPassword);

/// <summary>The predecessor's shape of a password change (`POST /accounts/reset-password`).</summary>
public sealed record LegacyChangePasswordRequest(string? OldPassword, string? NewPassword);

public sealed record ActivityItem(long Id, string Action, string? Field, string? OldValue, string? NewValue, string? IpAddress, string? UserAgent, DateTime CreatedAt)
{
    public static ActivityItem From(AccountLogRow row) =>
        new(row.Id, row.Action, row.Field, row.OldValue, row.NewValue, row.IpAddress, row.UserAgent, row.CreatedAt);
}

public sealed record ActivityResponse(IReadOnlyList<ActivityItem> Items, int Page, int PageSize);

public static class AccountRules
{
    public const string UsernamePattern = "^[A-Za-z0-9_.-]{3,32}$";
    public const string UsernameMessage = "must be 3–32 characters: letters, digits, '_', '-' or '.'";

    public static void Username<T>(this IRuleBuilder<T, string?> rule) =>
        rule.NotEmpty().WithMessage("is required").Matches(UsernamePattern).WithMessage(UsernameMessage);

    public static void Name<T>(this IRuleBuilder<T, string?> rule) =>
        rule.Custom((value, context) => { if (Names.Problem(value) is { } problem) context.AddFailure(problem); });

    public static void NewPassword<T>(this IRuleBuilder<T, string?> rule) =>
        rule.Custom((value, context) => { if (PasswordPolicy.Problem(value) is { } problem) context.AddFailure(problem); });

    public static IRuleBuilderOptions<T, DateOnly?> DateOfBirth<T>(this IRuleBuilder<T, DateOnly?> rule) =>
        rule.Must(d => d is null || (d.Value < DateOnly.FromDateTime(DateTime.UtcNow) && d.Value.Year >= 1900))
            .WithMessage("must be a date in the past (YYYY-MM-DD)");
}

public sealed class RegisterRequestValidator : AbstractValidator<RegisterRequest>
{
    public RegisterRequestValidator(IOptions<SiteOptions> site)
    {
        RuleFor(r => r.Username).Username();
        RuleFor(r => r.Email).NotEmpty().WithMessage("is required")
            .Must(Emails.IsValid).WithMessage("must be a valid email address");
        RuleFor(r => r.Password).NewPassword();
        RuleFor(r => r.Firstname).Name();
        RuleFor(r => r.Lastname).Name();
        RuleFor(r => r.DateOfBirth).DateOfBirth();
        // The predecessor's pages have no terms checkbox; in legacy mode a missing answer is recorded as "not accepted".
        RuleFor(r => r.AcceptTerms).Must(accepted => accepted == true).WithMessage("must be accepted")
            .Unless(r => site.Value.LegacyClients && r.AcceptTerms is null);
    }
}

public sealed class UpdateAccountRequestValidator : AbstractValidator<UpdateAccountRequest>
{
    public UpdateAccountRequestValidator()
    {
        When(r => r.Username is not null, () => RuleFor(r => r.Username).Username());
        When(r => r.Firstname is not null, () => RuleFor(r => r.Firstname).Name());
        When(r => r.Lastname is not null, () => RuleFor(r => r.Lastname).Name());
        RuleFor(r => r.DateOfBirth.Value).DateOfBirth().OverridePropertyName("date_of_birth");
        When(r => r.Email is not null, () => RuleFor(r => r.Email).Must(Emails.IsValid).WithMessage("must be a valid email address"));
    }
}

public sealed class ChangePasswordRequestValidator : AbstractValidator<ChangePasswordRequest>
{
    public ChangePasswordRequestValidator()
    {
        RuleFor(r => r.CurrentPassword).NotEmpty().WithMessage("is required");
        RuleFor(r => r.NewPassword).NewPassword();
    }
}

public sealed class LegacyChangePasswordRequestValidator : AbstractValidator<LegacyChangePasswordRequest>
{
    public LegacyChangePasswordRequestValidator()
    {
        RuleFor(r => r.OldPassword).NotEmpty().WithMessage("is required");
        RuleFor(r => r.NewPassword).NewPassword();
    }
}
