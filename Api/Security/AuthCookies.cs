namespace AccountsApi.Security;

/// <summary>
/// HttpOnly, SameSite=Lax cookies; Secure everywhere but Development (plain-http localhost).
/// The refresh cookie is scoped to /auth so it travels only to refresh and logout.
/// </summary>
public sealed class AuthCookies(IHostEnvironment environment)
{
    public const string Access = "access_token";
    public const string Refresh = "refresh_token";
    public const string RefreshPath = "/auth";

    public void SignIn(HttpResponse response, AccessToken access, string refreshToken, DateTime refreshExpires)
    {
        response.Cookies.Append(Access, access.Value, Options("/", access.ExpiresAt));
        response.Cookies.Append(Refresh, refreshToken, Options(RefreshPath, refreshExpires));
    }

    public void Clear(HttpResponse response)
    {
        response.Cookies.Delete(Access, Options("/", null));
        response.Cookies.Delete(Refresh, Options(RefreshPath, null));
    }

    CookieOptions Options(string path, DateTime? expires) => new()
    {
        HttpOnly = true,
        Secure = !environment.IsDevelopment(),
        SameSite = SameSiteMode.Lax,
        Path = path,
        Expires = expires,
        MaxAge = expires is { } e ? e - DateTime.UtcNow : null,
        IsEssential = true,
    };
}
