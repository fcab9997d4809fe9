using System.Net;
using AccountsApi.Tests.Infrastructure;
using Microsoft.Net.Http.Headers;

namespace AccountsApi.Tests.Legacy;

/// <summary>LEGACY_CLIENTS=true: the JavaScript-readable `username` cookie, its attributes and when it is cleared.</summary>
public sealed class LegacyCookieTests(ApiFixture fixture) : ApiTest(fixture)
{
    static SetCookieHeaderValue UsernameCookie(HttpResponseMessage response) =>
        Cookies.Header(response, "username") ?? throw new Xunit.Sdk.XunitException(
            $"no username cookie in: {string.Join(" | ", response.Headers.TryGetValues("Set-Cookie", out var v) ? v : [])}");

    static void AssertCleared(HttpResponseMessage response, string what)
    {
        var cookie = Cookies.Header(response, "username");
        Assert.True(cookie is not null, $"{what}: no Set-Cookie for username");
        Assert.True(Cookies.IsCleared(cookie!) || string.IsNullOrEmpty(cookie!.Value.Value), $"{what}: username cookie not cleared: {cookie}");
        Assert.Equal("/", cookie!.Path.Value); // the same cookie the login set, or the browser keeps that one
    }

    [Theory]
    [InlineData("alice")]
    [InlineData("alice@example.com")]
    public async Task AFormLoginSetsAReadableUsernameCookieAsLongLivedAsTheRefreshCookie(string login)
    {
        await using var legacy = Factory.WithLegacyClients();
        await ChatterPage.Open(legacy).RegisterAsync(LegacyClients.PagesRegistration());
        var response = await ChatterPage.Open(legacy).LoginAsync(login, Users.Password);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var username = UsernameCookie(response);
        Assert.Equal("alice", username.Value.Value);
        Assert.False(username.HttpOnly);
        Assert.Equal(Microsoft.Net.Http.Headers.SameSiteMode.Lax, username.SameSite);
        Assert.Equal("/", username.Path.Value);

        var refresh = Cookies.Header(response, "refresh_token")!;
        Assert.True(refresh.HttpOnly);
        Assert.True(Cookies.Header(response, "access_token")!.HttpOnly);
        Assert.True(username.Expires is not null || username.MaxAge is not null, "the username cookie is a session cookie");
        if (refresh.Expires is { } refreshExpires)
            Assert.InRange((username.Expires!.Value - refreshExpires).Duration(), TimeSpan.Zero, TimeSpan.FromSeconds(5));
        if (refresh.MaxAge is { } refreshAge)
            Assert.InRange((username.MaxAge!.Value - refreshAge).Duration(), TimeSpan.Zero, TimeSpan.FromSeconds(5));
        Assert.InRange((username.Expires ?? DateTimeOffset.UtcNow + username.MaxAge!.Value) - DateTimeOffset.UtcNow,
            TimeSpan.FromDays(29), TimeSpan.FromDays(31)); // REFRESH_TOKEN_DAYS default 30
    }

    [Fact]
    public async Task TheUsernameCookieFollowsTheRefreshLifetimeSetting()
    {
        await using var legacy = Factory.WithLegacyClients(new Dictionary<string, string?> { ["REFRESH_TOKEN_DAYS"] = "3" });
        await ChatterPage.Open(legacy).RegisterAsync(LegacyClients.PagesRegistration());
        var response = await ChatterPage.Open(legacy).LoginAsync("alice", Users.Password);
        var username = UsernameCookie(response);
        var expires = username.Expires ?? DateTimeOffset.UtcNow + username.MaxAge!.Value;
        Assert.InRange(expires - DateTimeOffset.UtcNow, TimeSpan.FromDays(3) - TimeSpan.FromMinutes(1), TimeSpan.FromDays(3) + TimeSpan.FromMinutes(1));
    }

    [Fact]
    public async Task AFailedLoginSetsNoUsernameCookie()
    {
        await using var legacy = Factory.WithLegacyClients();
        await ChatterPage.Open(legacy).RegisterAsync(LegacyClients.PagesRegistration());
        var response = await ChatterPage.Open(legacy).LoginAsync("alice", "Wrong-Pass-99");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var username = Cookies.Header(response, "username");
        Assert.True(username is null || Cookies.IsCleared(username), $"a failed login set {username}");
    }

    public static TheoryData<string, bool> ClearingRoutes() => new()
    {
        { "POST /auth/logout", false },
        { "POST /auth/logout", true },
        { "POST /auth/logout-all", false },
        { "POST /auth/logout-all", true },
        { "POST /accounts/me/password", false },
        { "POST /accounts/me/password", true },
        { "POST /accounts/reset-password", false },
        { "POST /accounts/reset-password", true },
        { "DELETE /accounts/me", false },
        { "DELETE /accounts/me", true },
    };

    [Theory]
    [MemberData(nameof(ClearingRoutes))]
    public async Task TheUsernameCookieIsClearedBy(string route, bool bearer)
    {
        await using var legacy = Factory.WithLegacyClients();
        await ChatterPage.Open(legacy).RegisterAsync(LegacyClients.PagesRegistration());
        var (method, url) = (new HttpMethod(route.Split(' ')[0]), route.Split(' ')[1]);
        object? body = url switch
        {
            "/accounts/me/password" => new { current_password = Users.Password, new_password = Users.OtherPassword },
            "/accounts/reset-password" => new { old_password = Users.Password, new_password = Users.OtherPassword },
            "/accounts/me" => bearer ? null : new { password = Users.Password },
            _ => null,
        };

        HttpResponseMessage response;
        if (bearer)
        {
            var page = await LegacyClients.SignInAsync(legacy, "alice");
            response = await page.RequestAsync(method, url, body);
        }
        else
        {
            // the site's own pages: cookies, allowed Origin
            var alice = await Users.SignInAsync(legacy, "alice");
            response = await alice.Client.SendAsync(new HttpRequestMessage(method, url) { Content = LegacyClients.JsonBody(body) });
        }
        await LegacyClients.AssertPageJsonAsync(response);
        AssertCleared(response, route);
    }
}
