using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using AccountsApi.Infrastructure;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace AccountsApi.Security;

public sealed record AccessToken(string Value, DateTime ExpiresAt);

/// <summary>Access JWTs (HS256, short-lived, `sid` = session id) and opaque refresh tokens (stored as SHA-256).</summary>
public sealed class Tokens
{
    public const string Audience = "accounts-api";
    public const string SessionClaim = "sid";

    readonly JwtOptions options;
    readonly JsonWebTokenHandler handler = new();
    readonly SigningCredentials credentials;

    public Tokens(IOptions<JwtOptions> options, IHostEnvironment environment, ILogger<Tokens> logger)
    {
        this.options = options.Value;
        SigningKey = new SymmetricSecurityKey(KeyBytes(this.options, environment, logger));
        credentials = new SigningCredentials(SigningKey, SecurityAlgorithms.HmacSha256);
    }

    public SymmetricSecurityKey SigningKey { get; }
    public string Issuer => options.Issuer;
    public TimeSpan AccessLifetime => TimeSpan.FromMinutes(options.AccessTokenMinutes);
    public TimeSpan RefreshLifetime => TimeSpan.FromDays(options.RefreshTokenDays);
    public TimeSpan RefreshGrace => TimeSpan.FromSeconds(options.RefreshGraceSeconds);

    public AccessToken CreateAccessToken(long userId, string username, string role, Guid sessionId)
    {
        var now = DateTime.UtcNow;
        var expires = now + AccessLifetime;
        var token = handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = options.Issuer,
            Audience = Audience,
            IssuedAt = now,
            NotBefore = now,
            Expires = expires,
            SigningCredentials = credentials,
            Claims = new Dictionary<string, object>
            {
                [JwtRegisteredClaimNames.Sub] = userId.ToString(System.Globalization.CultureInfo.InvariantCulture),
                [SessionClaim] = sessionId.ToString(),
                ["name"] = username,
                ["role"] = role,
                [JwtRegisteredClaimNames.Jti] = Guid.NewGuid().ToString("N"),
            },
        });
        return new AccessToken(token, expires);
    }

    public TokenValidationParameters ValidationParameters() => new()
    {
        ValidIssuer = options.Issuer,
        ValidAudience = Audience,
        IssuerSigningKey = SigningKey,
        ValidAlgorithms = [SecurityAlgorithms.HmacSha256], // "none" and every other algorithm are refused
        ValidateIssuerSigningKey = true,
        RequireSignedTokens = true,
        RequireExpirationTime = true,
        ClockSkew = TimeSpan.FromSeconds(30),
        NameClaimType = "name",
        RoleClaimType = "role",
    };

    public static string NewOpaqueToken() => Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32));

    public static byte[] HashOpaqueToken(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));

    static byte[] KeyBytes(JwtOptions options, IHostEnvironment environment, ILogger logger)
    {
        if (!string.IsNullOrEmpty(options.SigningKey)) return Encoding.UTF8.GetBytes(options.SigningKey);
        // Only reachable in Development (the settings check refuses to start elsewhere without a key).
        logger.LogWarning("JWT_SIGNING_KEY is unset: using a random key, so sign-ins end when the process restarts ({Environment}).",
            environment.EnvironmentName);
        return RandomNumberGenerator.GetBytes(64);
    }
}

public static class ClaimsPrincipalExtensions
{
    public static long UserId(this ClaimsPrincipal user) =>
        long.Parse(user.FindFirstValue(JwtRegisteredClaimNames.Sub) ?? throw new InvalidOperationException("no sub claim"),
            System.Globalization.CultureInfo.InvariantCulture);

    public static Guid SessionId(this ClaimsPrincipal user) =>
        Guid.Parse(user.FindFirstValue(Tokens.SessionClaim) ?? throw new InvalidOperationException("no sid claim"));
}
