using FluentValidation;

namespace AccountsApi.Contracts;

/// <summary>The token from a `{PUBLIC_SITE_URL}/verify-email?token=...` link.</summary>
public sealed record VerifyEmailRequest(string? Token);

/// <summary>Signed in: leave `email` out to resend to the account's address. Not signed in: the address to resend to.</summary>
public sealed record ResendVerificationRequest(string? Email);

public sealed record PasswordResetRequest(string? Email);

/// <summary>The token from a `{PUBLIC_SITE_URL}/reset-password?token=...` link, and the new password.</summary>
public sealed record PasswordResetConfirmRequest(string? Token, string? NewPassword);

public sealed record VerifyEmailResponse(string Message, string Email, bool EmailVerified);

public sealed class VerifyEmailRequestValidator : AbstractValidator<VerifyEmailRequest>
{
    public VerifyEmailRequestValidator() =>
        RuleFor(r => r.Token).NotEmpty().WithMessage("is required").MaximumLength(200).WithMessage("is not a valid token");
}

public sealed class ResendVerificationRequestValidator : AbstractValidator<ResendVerificationRequest>
{
    public ResendVerificationRequestValidator() =>
        When(r => r.Email is not null, () => RuleFor(r => r.Email).Must(Emails.IsValid).WithMessage("must be a valid email address"));
}

public sealed class PasswordResetRequestValidator : AbstractValidator<PasswordResetRequest>
{
    public PasswordResetRequestValidator() =>
        RuleFor(r => r.Email).NotEmpty().WithMessage("is required").Must(Emails.IsValid).WithMessage("must be a valid email address");
}

public sealed class PasswordResetConfirmRequestValidator : AbstractValidator<PasswordResetConfirmRequest>
{
    public PasswordResetConfirmRequestValidator()
    {
        RuleFor(r => r.Token).NotEmpty().WithMessage("is required").MaximumLength(200).WithMessage("is not a valid token");
        RuleFor(r => r.NewPassword).NewPassword();
    }
}
