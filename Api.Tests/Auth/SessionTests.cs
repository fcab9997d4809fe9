using System.Net;
using System.Text.Json;
using AccountsApi.Tests.Infrastructure;
using Dapper;

namespace AccountsApi.Tests.Auth;

/// <summary>GET /auth/session, POST /auth/refresh, /auth/logout and /auth/logout-all.</summary>
public sealed class SessionTests(ApiFixture fixture) : ApiTest(fixture)
{
    static void AssertSessionShape(JsonElement body, SignedIn user, string sessionId)
    {
        Assert.Equal(user.UserId, body.GetProperty("user_id").GetInt64());
        Assert.Equal(user.Username, body.GetProperty("username").GetString());
        Assert.Equal("user", body.GetProperty("role").GetString());
        Assert.Equal(sessionId, body.GetProperty("session_id").GetString());
        var expires = DateTimeOffset.Parse(body.GetProperty("expires_at").GetString()!);
        Assert.InRange((expires - DateTimeOffset.UtcNow).TotalMinutes, 0.5, 16); // the access token's expiry: 15 minutes by default
    }

    static Task<HttpResponseMessage> RefreshWithAsync(ApiFactory factory, string refreshToken) =>
        Users.WithCookie(factory, "refresh_token", refreshToken).PostAsync("/auth/refresh", null);

    [Fact]
    public async Task SessionDescribesTheSignedInUserFromTheCookie()
    {
        var alice = await Users.SignUpAndInAsync(Factory);
        var body = await Http.JsonAsync(await alice.Client.GetAsync("/auth/session"), HttpStatusCode.OK);
        AssertSessionShape(body, alice, alice.SessionId);

        await using var db = await Db.OpenAsync(Fixture);
        var stored = await db.ExecuteScalarAsync<Guid>("select id from user_sessions");
        Assert.Equal(stored.ToString(), body.GetProperty("session_id").GetString());
        var tokenExpiry = Tokens.Read(alice.AccessToken).ValidTo;
        Assert.InRange((DateTimeOffset.Parse(body.GetProperty("expires_at").GetString()!).UtcDateTime - tokenExpiry).TotalSeconds, -2, 2);
    }

    [Fact]
    public async Task SessionNeedsNoOriginHeader()
    {
        var alice = await Users.SignUpAndInAsync(Factory);
        var client = Users.Raw(Factory, origin: null);
        client.DefaultRequestHeaders.Add("Cookie", $"access_token={alice.AccessToken}");
        await Http.JsonAsync(await client.GetAsync("/auth/session"), HttpStatusCode.OK);
    }

    [Fact]
    public async Task SessionWithoutACookieIsUnauthorized()
    {
        var response = await Users.Browser(Factory).GetAsync("/auth/session");
        await Http.AssertProblemAsync(response, HttpStatusCode.Unauthorized, "unauthorized");
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("a.b.c")]
    [InlineData("")]
    public async Task SessionWithAnInvalidTokenIsUnauthorized(string token)
    {
        var response = await Users.WithAccessToken(Factory, token).GetAsync("/auth/session");
        await Http.AssertProblemAsync(response, HttpStatusCode.Unauthorized, "unauthorized");
    }

    [Fact]
    public async Task RefreshRotatesTheRefreshTokenAndIssuesNewCookies()
    {
        var alice = await Users.SignUpAndInAsync(Factory);
        var response = await alice.Client.PostAsync("/auth/refresh", null);
        var body = await Http.JsonAsync(response, HttpStatusCode.OK);
        AssertSessionShape(body, alice, alice.SessionId);

        var newRefresh = Cookies.Get(response, "refresh_token");
        var newAccess = Cookies.Get(response, "access_token");
        Assert.False(string.IsNullOrEmpty(newRefresh));
        Assert.False(string.IsNullOrEmpty(newAccess));
        Assert.NotEqual(alice.RefreshToken, newRefresh);
        Assert.NotEqual(alice.AccessToken, newAccess);
        Assert.Equal("/auth", Cookies.Header(response, "refresh_token")!.Path.Value);
        Assert.True(Cookies.Header(response, "refresh_token")!.HttpOnly);
        Assert.True(Cookies.Header(response, "access_token")!.HttpOnly);
        Assert.Equal(alice.SessionId, Tokens.Read(newAccess!).GetClaim("sid").Value);

        // the browser now holds the new cookies and they work
        await Http.JsonAsync(await alice.Client.GetAsync("/accounts/me"), HttpStatusCode.OK);
        await Http.JsonAsync(await Users.WithAccessToken(Factory, newAccess!).GetAsync("/accounts/me"), HttpStatusCode.OK);
        await Http.JsonAsync(await RefreshWithAsync(Factory, newRefresh!), HttpStatusCode.OK);

        await using var db = await Db.OpenAsync(Fixture);
        Assert.Equal(1, await db.ExecuteScalarAsync<long>("select count(*) from user_sessions"));
        Assert.True(await db.ExecuteScalarAsync<long>("select count(*) from refresh_tokens where replaced_at is not null") >= 2);
    }

    [Fact]
    public async Task RefreshWithoutACookieIsRefused()
    {
        var response = await Users.Browser(Factory).PostAsync("/auth/refresh", null);
        await Http.AssertProblemAsync(response, HttpStatusCode.Unauthorized, "invalid_refresh_token");
        Assert.True(string.IsNullOrEmpty(Cookies.Get(response, "access_token")), "a refused refresh issued an access token");
    }

    [Fact]
    public async Task RefreshWithAnUnknownTokenIsRefused()
    {
        await Users.SignUpAndInAsync(Factory);
        var response = await RefreshWithAsync(Factory, "bm90LWEtcmVhbC1yZWZyZXNoLXRva2Vu");
        await Http.AssertProblemAsync(response, HttpStatusCode.Unauthorized, "invalid_refresh_token");
        Assert.True(string.IsNullOrEmpty(Cookies.Get(response, "access_token")), "a refused refresh issued an access token");
    }

    [Fact]
    public async Task RefreshNeedsAnAllowedOrigin()
    {
        var alice = await Users.SignUpAndInAsync(Factory);
        var client = Users.Raw(Factory, origin: "https://evil.example");
        client.DefaultRequestHeaders.Add("Cookie", $"refresh_token={alice.RefreshToken}");
        var response = await client.PostAsync("/auth/refresh", null);
        await Http.AssertProblemAsync(response, HttpStatusCode.Forbidden, "origin_not_allowed");
        Assert.True(string.IsNullOrEmpty(Cookies.Get(response, "access_token")), "a refused refresh issued an access token");
    }

    [Fact]
    public async Task AnOldRefreshTokenWithinTheGraceWindowStillWorks()
    {
        var alice = await Users.SignUpAndInAsync(Factory);
        // tab one refreshes
        var first = await RefreshWithAsync(Factory, alice.RefreshToken);
        await Http.JsonAsync(first, HttpStatusCode.OK);
        var rotated = Cookies.Get(first, "refresh_token")!;
        // tab two, a moment later, still holds the old token
        var second = await RefreshWithAsync(Factory, alice.RefreshToken);
        var body = await Http.JsonAsync(second, HttpStatusCode.OK);
        Assert.Equal(alice.SessionId, body.GetProperty("session_id").GetString());
        Assert.NotNull(Cookies.Get(second, "access_token"));

        // nothing was revoked: the newest token from tab one still works
        await Http.JsonAsync(await RefreshWithAsync(Factory, rotated), HttpStatusCode.OK);
        await using var db = await Db.OpenAsync(Fixture);
        Assert.Null(await db.ExecuteScalarAsync<DateTime?>("select revoked_at from user_sessions"));
    }

    [Fact]
    public async Task ReusingARotatedRefreshTokenAfterTheGraceWindowRevokesTheWholeSession()
    {
        await using var factory = Factory.WithSettings(new Dictionary<string, string?> { ["REFRESH_REUSE_GRACE_SECONDS"] = "0" });
        var alice = await Users.SignUpAndInAsync(factory);
        var first = await RefreshWithAsync(factory, alice.RefreshToken);
        await Http.JsonAsync(first, HttpStatusCode.OK);
        var newest = Cookies.Get(first, "refresh_token")!;
        var newestAccess = Cookies.Get(first, "access_token")!;

        await Task.Delay(TimeSpan.FromSeconds(1.1));
        var replay = await RefreshWithAsync(factory, alice.RefreshToken);
        await Http.AssertProblemAsync(replay, HttpStatusCode.Unauthorized, "invalid_refresh_token");
        Assert.True(string.IsNullOrEmpty(Cookies.Get(replay, "access_token")), "a refused refresh issued an access token");

        // the whole family is dead: the newest refresh token and the access tokens fail too
        await Http.AssertProblemAsync(await RefreshWithAsync(factory, newest), HttpStatusCode.Unauthorized, "invalid_refresh_token");
        await Http.AssertProblemAsync(await Users.WithAccessToken(factory, newestAccess).GetAsync("/accounts/me"), HttpStatusCode.Unauthorized, "unauthorized");
        await Http.AssertProblemAsync(await Users.WithAccessToken(factory, alice.AccessToken).GetAsync("/accounts/me"), HttpStatusCode.Unauthorized, "unauthorized");

        await using var db = await Db.OpenAsync(Fixture);
        Assert.NotNull(await db.ExecuteScalarAsync<DateTime?>("select revoked_at from user_sessions"));
    }

    [Fact]
    public async Task LogoutClearsBothCookiesAndTheOldTokensFailAtOnce()
    {
        var alice = await Users.SignUpAndInAsync(Factory);
        var response = await alice.Client.PostAsync("/auth/logout", null);
        var body = await Http.JsonAsync(response, HttpStatusCode.OK);
        Assert.False(string.IsNullOrWhiteSpace(body.GetProperty("message").GetString()));

        var access = Cookies.Header(response, "access_token");
        var refresh = Cookies.Header(response, "refresh_token");
        Assert.NotNull(access);
        Assert.NotNull(refresh);
        Assert.True(Cookies.IsCleared(access), $"access_token not cleared: {access}");
        Assert.True(Cookies.IsCleared(refresh), $"refresh_token not cleared: {refresh}");
        Assert.Equal("/", access.Path.Value);
        Assert.Equal("/auth", refresh.Path.Value);

        await Http.AssertProblemAsync(await alice.Client.GetAsync("/accounts/me"), HttpStatusCode.Unauthorized, "unauthorized");
        await Http.AssertProblemAsync(await Users.WithAccessToken(Factory, alice.AccessToken).GetAsync("/accounts/me"), HttpStatusCode.Unauthorized, "unauthorized");
        await Http.AssertProblemAsync(await Users.WithAccessToken(Factory, alice.AccessToken).GetAsync("/auth/session"), HttpStatusCode.Unauthorized, "unauthorized");
        await Http.AssertProblemAsync(await RefreshWithAsync(Factory, alice.RefreshToken), HttpStatusCode.Unauthorized, "invalid_refresh_token");

        await using var db = await Db.OpenAsync(Fixture);
        Assert.NotNull(await db.ExecuteScalarAsync<DateTime?>("select revoked_at from user_sessions"));
    }

    [Fact]
    public async Task LogoutEndsOnlyThisSession()
    {
        var laptop = await Users.SignUpAndInAsync(Factory);
        var phone = await Users.SignInAsync(Factory, "alice");
        await Http.JsonAsync(await laptop.Client.PostAsync("/auth/logout", null), HttpStatusCode.OK);

        await Http.JsonAsync(await phone.Client.GetAsync("/accounts/me"), HttpStatusCode.OK);
        await Http.JsonAsync(await Users.WithAccessToken(Factory, phone.AccessToken).GetAsync("/auth/session"), HttpStatusCode.OK);
        await Http.AssertProblemAsync(await Users.WithAccessToken(Factory, laptop.AccessToken).GetAsync("/auth/session"), HttpStatusCode.Unauthorized, "unauthorized");
    }

    [Fact]
    public async Task LogoutAllEndsEverySessionAtOnce()
    {
        var laptop = await Users.SignUpAndInAsync(Factory);
        var phone = await Users.SignInAsync(Factory, "alice");
        var tablet = await Users.SignInAsync(Factory, "alice");
        var bob = await Users.SignUpAndInAsync(Factory, "bob");

        var response = await laptop.Client.PostAsync("/auth/logout-all", null);
        var body = await Http.JsonAsync(response, HttpStatusCode.OK);
        Assert.False(string.IsNullOrWhiteSpace(body.GetProperty("message").GetString()));
        Assert.Equal(3, body.GetProperty("revoked").GetInt32());
        Assert.True(Cookies.IsCleared(Cookies.Header(response, "access_token")!));

        foreach (var session in new[] { laptop, phone, tablet })
        {
            await Http.AssertProblemAsync(await Users.WithAccessToken(Factory, session.AccessToken).GetAsync("/accounts/me"), HttpStatusCode.Unauthorized, "unauthorized");
            await Http.AssertProblemAsync(await Users.WithAccessToken(Factory, session.AccessToken).GetAsync("/auth/session"), HttpStatusCode.Unauthorized, "unauthorized");
            await Http.AssertProblemAsync(await RefreshWithAsync(Factory, session.RefreshToken), HttpStatusCode.Unauthorized, "invalid_refresh_token");
        }
        // another user is untouched
        await Http.JsonAsync(await bob.Client.GetAsync("/accounts/me"), HttpStatusCode.OK);

        await using var db = await Db.OpenAsync(Fixture);
        Assert.Equal(0, await db.ExecuteScalarAsync<long>(
            "select count(*) from user_sessions where user_id = @UserId and revoked_at is null", new { laptop.UserId }));
    }

    [Fact]
    public async Task LogoutWithoutACookieChangesNothing()
    {
        var alice = await Users.SignUpAndInAsync(Factory);
        var response = await Users.Browser(Factory).PostAsync("/auth/logout", null);
        Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.Unauthorized, $"got {(int)response.StatusCode}");
        await Http.JsonAsync(await alice.Client.GetAsync("/accounts/me"), HttpStatusCode.OK);
    }

    [Fact]
    public async Task LogoutFromAForeignOriginIsRefusedAndTheSessionSurvives()
    {
        var alice = await Users.SignUpAndInAsync(Factory);
        var client = Users.Raw(Factory, origin: "https://evil.example");
        client.DefaultRequestHeaders.Add("Cookie", $"access_token={alice.AccessToken}");
        await Http.AssertProblemAsync(await client.PostAsync("/auth/logout", null), HttpStatusCode.Forbidden, "origin_not_allowed");
        await Http.AssertProblemAsync(await client.PostAsync("/auth/logout-all", null), HttpStatusCode.Forbidden, "origin_not_allowed");
        await Http.JsonAsync(await alice.Client.GetAsync("/accounts/me"), HttpStatusCode.OK);
    }
}
