using System.Security.Claims;
using System.Text.Json;
using AccountsApi.Contracts;
using AccountsApi.Data;
using AccountsApi.Infrastructure;
using AccountsApi.Security;
using FluentValidation;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;

namespace AccountsApi.Endpoints;

public static class AuthEndpoints
{
    public static IEndpointRouteBuilder MapAuthEndpoints(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/auth").WithTags("Auth").WithStandardProblems();

        group.MapPost("/login", Login).WithName(nameof(Login)).RequireRateLimiting(RateLimits.Login)
            .ProducesProblem(StatusCodes.Status401Unauthorized).ProducesValidationProblem()
            .Accepts<LoginRequest>("application/json", "application/x-www-form-urlencoded")
            .WithSummary("Sign in with a username or email and password: sets the access and refresh cookies.")
            .WithDescription("JSON `{login, password}`, or the predecessor's form-encoded `username`/`password`. " +
                             "Unknown user, wrong password, locked and inactive accounts all get the same 401 `invalid_credentials`. " +
                             "With LEGACY_CLIENTS=true a form login also returns `access_token` (`token_type: bearer`) in the body " +
                             "and sets a JavaScript-readable `username` cookie; a JSON login never returns a token.");
        group.MapGet("/session", GetSession).WithName(nameof(GetSession)).RequireAuthorization()
            .WithSummary("Who is signed in, from the access cookie alone: no database round trip, revocation-aware.");
        group.MapPost("/refresh", Refresh).WithName(nameof(Refresh)).ProducesProblem(StatusCodes.Status401Unauthorized)
            .WithSummary("Rotate the refresh cookie and issue a new access cookie. Reusing a rotated token ends the session.");
        group.MapPost("/logout", Logout).WithName(nameof(Logout))
            .WithSummary("Sign out of this session: revokes it at once and clears the cookies.");
        group.MapPost("/logout-all", LogoutAll).WithName(nameof(LogoutAll)).RequireAuthorization()
            .WithSummary("Sign out of every session of this account, on every device.");
        return routes;
    }

    public static async Task<Results<Ok<AccountResponse>, Ok<LegacyLoginResponse>, ProblemHttpResult, ValidationProblem>> Login(
        HttpContext http, SignInService signIn, AuthCookies cookies, IValidator<LoginRequest> validator, IOptions<JsonOptions> json,
        IOptions<SiteOptions> site, Tokens tokens)
    {
        var request = await ReadLoginAsync(http, json.Value.SerializerOptions);
        var validation = await validator.ValidateAsync(request);
        if (!validation.IsValid) return Problems.Validation(validation);

        var outcome = await signIn.SignInAsync(request.Login!, request.Password!, ClientInfo.From(http));
        if (outcome.SignedIn is not { } signedIn)
            return outcome.Refusal switch
            {
                SignInRefusal.EmailNotVerified => Problems.Problem(StatusCodes.Status403Forbidden, "email_not_verified",
                    "Confirm your email address first: open the link in the mail we sent (POST /accounts/verify-email/resend sends another).",
                    "Email not verified"),
                SignInRefusal.PasswordResetRequired => Problems.Problem(StatusCodes.Status403Forbidden, "password_reset_required",
                    "This account needs a new password: request a reset link (POST /accounts/password-reset/request).",
                    "Password reset required"),
                _ => Problems.Problem(StatusCodes.Status401Unauthorized, "invalid_credentials",
                    "The username/email or password is incorrect, or the account cannot sign in right now.", "Sign-in failed"),
            };
        cookies.SignIn(http.Response, signedIn.Access, signedIn.RefreshToken, signedIn.RefreshExpires, signedIn.User.Username);
        var account = AccountResponse.From(signedIn.User);
        // The predecessor's pages keep the token from a form login's body; JSON logins never get one.
        if (site.Value.LegacyClients && http.Request.HasFormContentType)
            return TypedResults.Ok(new LegacyLoginResponse(account)
            {
                AccessToken = signedIn.Access.Value,
                TokenType = "bearer",
                ExpiresIn = (int)tokens.AccessLifetime.TotalSeconds,
            });
        return TypedResults.Ok(account);
    }

    /// <summary>JSON, or the predecessor's form post (`username` = username or email).</summary>
    static async Task<LoginRequest> ReadLoginAsync(HttpContext http, JsonSerializerOptions options)
    {
        if (http.Request.HasFormContentType)
        {
            var form = await http.Request.ReadFormAsync();
            return new LoginRequest(form["username"].FirstOrDefault() ?? form["login"].FirstOrDefault(), form["password"].FirstOrDefault(), form["totp"].FirstOrDefault());
        }
        if (!http.Request.HasJsonContentType())
            throw new BadHttpRequestException("Expected JSON or a form.", StatusCodes.Status415UnsupportedMediaType);
        try
        {
            return await http.Request.ReadFromJsonAsync<LoginRequest>(options)
                   ?? throw new BadHttpRequestException("A body is required.", StatusCodes.Status400BadRequest);
        }
        catch (JsonException e)
        {
            throw new BadHttpRequestException("Malformed JSON.", StatusCodes.Status400BadRequest, e);
        }
    }

    public static Ok<SessionResponse> GetSession(ClaimsPrincipal user)
    {
        var expires = long.TryParse(user.FindFirstValue("exp"), out var exp) ? DateTimeOffset.FromUnixTimeSeconds(exp).UtcDateTime : DateTime.UtcNow;
        return TypedResults.Ok(new SessionResponse(user.UserId(), user.FindFirstValue("name") ?? "", user.FindFirstValue("role") ?? "user",
            user.SessionId(), expires));
    }

    public static async Task<Results<Ok<SessionResponse>, ProblemHttpResult>> Refresh(
        HttpContext http, SessionRepository sessions, AccountLogRepository logs, Tokens tokens, AuthCookies cookies)
    {
        var presented = http.Request.Cookies[AuthCookies.Refresh];
        if (string.IsNullOrEmpty(presented)) return RefreshRefused(http, cookies);

        var hash = Tokens.HashOpaqueToken(presented);
        var row = await sessions.FindRefreshTokenAsync(hash);
        if (row is null || row.RevokedAt is not null || row.ExpiresAt <= DateTime.UtcNow || row.Status != "active")
            return RefreshRefused(http, cookies);

        var client = ClientInfo.From(http);
        var next = Tokens.NewOpaqueToken();
        if (!await sessions.RotateAsync(hash, Tokens.HashOpaqueToken(next), tokens.RefreshGrace, client.IpAddress, client.UserAgent))
        {
            // A token replaced longer ago than the grace window came back: someone kept a copy. End the family.
            await sessions.RevokeAsync(row.UserId, row.SessionId, "refresh_token_reuse");
            await logs.WriteAsync(new AccountLogEntry(row.UserId, "session_revoked", client.IpAddress, client.UserAgent,
                Field: "session", NewValue: "refresh token reuse"));
            return RefreshRefused(http, cookies);
        }

        var access = tokens.CreateAccessToken(row.UserId, row.Username, row.Role, row.SessionId);
        cookies.SignIn(http.Response, access, next, row.ExpiresAt, row.Username);
        return TypedResults.Ok(new SessionResponse(row.UserId, row.Username, row.Role, row.SessionId, access.ExpiresAt));
    }

    static ProblemHttpResult RefreshRefused(HttpContext http, AuthCookies cookies)
    {
        cookies.Clear(http.Response);
        return Problems.Problem(StatusCodes.Status401Unauthorized, "invalid_refresh_token", "The sign-in has ended; sign in again.");
    }

    public static async Task<Ok<MessageResponse>> Logout(
        HttpContext http, SessionRepository sessions, AccountLogRepository logs, AuthCookies cookies)
    {
        // The access cookie names the session; when it has expired, the refresh cookie still does.
        var session = await CurrentSessionAsync(http, sessions);
        if (session is { } s && (await sessions.RevokeAsync(s.UserId, s.SessionId, "logout")).Count > 0)
        {
            var client = ClientInfo.From(http);
            await logs.WriteAsync(new AccountLogEntry(s.UserId, "logout", client.IpAddress, client.UserAgent));
        }
        cookies.Clear(http.Response);
        return TypedResults.Ok(new MessageResponse("Signed out."));
    }

    static async Task<(long UserId, Guid SessionId)?> CurrentSessionAsync(HttpContext http, SessionRepository sessions)
    {
        if (http.User.Identity?.IsAuthenticated == true) return (http.User.UserId(), http.User.SessionId());
        var refresh = http.Request.Cookies[AuthCookies.Refresh];
        if (string.IsNullOrEmpty(refresh)) return null;
        var row = await sessions.FindRefreshTokenAsync(Tokens.HashOpaqueToken(refresh));
        return row is null ? null : (row.UserId, row.SessionId);
    }

    public static async Task<Ok<LogoutAllResponse>> LogoutAll(
        HttpContext http, ClaimsPrincipal user, SessionRepository sessions, AccountLogRepository logs, AuthCookies cookies)
    {
        var revoked = await sessions.RevokeAllAsync(user.UserId(), "logout_all");
        var client = ClientInfo.From(http);
        await logs.WriteAsync(new AccountLogEntry(user.UserId(), "logout_all", client.IpAddress, client.UserAgent, NewValue: revoked.Count.ToString()));
        cookies.Clear(http.Response);
        return TypedResults.Ok(new LogoutAllResponse("Signed out everywhere.", revoked.Count));
    }
}
