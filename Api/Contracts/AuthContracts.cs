using FluentValidation;

namespace AccountsApi.Contracts;

/// <summary>`login` is a username or an email address. The predecessor's form posts `username` instead.</summary>
public sealed record LoginRequest(string? Login, string? Password, string? Totp);

/// <summary>Who is signed in, read from the access cookie alone (no database round trip).</summary>
public sealed record SessionResponse(long UserId, string Username, string Role, Guid SessionId, DateTime ExpiresAt);

public sealed record SessionItem(Guid Id, string? UserAgent, string? IpAddress, DateTime CreatedAt, DateTime LastSeenAt, DateTime ExpiresAt, bool Current);

public sealed record SessionListResponse(IReadOnlyList<SessionItem> Items);

public sealed record LogoutAllResponse(string Message, int Revoked);

public sealed class LoginRequestValidator : AbstractValidator<LoginRequest>
{
    public LoginRequestValidator()
    {
        RuleFor(r => r.Login).NotEmpty().WithMessage("is required").MaximumLength(254).WithMessage("must be at most 254 characters");
        RuleFor(r => r.Password).NotEmpty().WithMessage("is required").MaximumLength(1024).WithMessage("must be at most 1024 characters");
    }
}
