using AccountsApi.Infrastructure;
using Microsoft.Extensions.Options;

namespace AccountsApi.Security;

/// <summary>
/// HttpOnly, SameSite=Lax cookies; Secure everywhere but Development (plain-http localhost).
/// The refresh cookie is scoped to /auth so it travels only to refresh and logout. With LEGACY_CLIENTS,
/// a JavaScript-readable `username` cookie (no secret in it) lets static pages show who is signed in.
/// </summary>
public sealed class AuthCookies(IHostEnvironment environment, IOptions<SiteOptions> site)
{
    public const string Access = "access_token";
    public const string Refresh = "refresh_token";
    public const string Username = "username";
    public const string RefreshPath = "/auth";

    public void SignIn(HttpResponse response, AccessToken access, string refreshToken, DateTime refreshExpires, string username)
    {
        response.Cookies.Append(Access, access.Value, Options("/", access.ExpiresAt));
        response.Cookies.Append(Refresh, refreshToken, Options(RefreshPath, refreshExpires));
        if (site.Value.LegacyClients) response.Cookies.Append(Username, username, UsernameOptions(refreshExpires));
    }

    public void Clear(HttpResponse response)
    {
        response.Cookies.Delete(Access, Options("/", null));
        response.Cookies.Delete(Refresh, Options(RefreshPath, null));
        ClearUsername(response);
    }

    public void ClearUsername(HttpResponse response)
    {
        if (site.Value.LegacyClients) response.Cookies.Delete(Username, UsernameOptions(null));
    }

    CookieOptions UsernameOptions(DateTime? expires)
    {
        var options = Options("/", expires);
        options.HttpOnly = false;
        options.Domain = string.IsNullOrWhiteSpace(site.Value.UsernameCookieDomain) ? null : site.Value.UsernameCookieDomain;
        return options;
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
