using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using AccountsApi.Tests.Infrastructure;
using Dapper;
using Microsoft.IdentityModel.Tokens;

namespace AccountsApi.Tests.Legacy;

/// <summary>
/// LEGACY_CLIENTS=true: `Authorization: Bearer` has exactly the access cookie's semantics (expiry, revocation),
/// is exempt from the Origin rule (no ambient credential) but not from CORS.
/// </summary>
public sealed class LegacyBearerTests(ApiFixture fixture) : ApiTest(fixture)
{
    static async Task AssertTokenFailsAsync(ApiFactory factory, string token)
    {
        await LegacyClients.AssertPageErrorAsync(await ChatterPage.Open(factory, token: token).GetAccountAsync(), HttpStatusCode.Unauthorized);
        var session = await LegacyClients.BearerAsync(Users.Raw(factory, origin: null), HttpMethod.Get, "/auth/session", token);
        await Http.AssertProblemAsync(session, HttpStatusCode.Unauthorized, "unauthorized");
    }

    static async Task AssertTokenWorksAsync(ApiFactory factory, string token, string username = "alice")
    {
        var me = await LegacyClients.AssertPageJsonAsync(await ChatterPage.Open(factory, token: token).GetAccountAsync());
        Assert.Equal(username, me.GetProperty("username").GetString());
    }

    async Task<string?> FirstnameAsync(string username)
    {
        await using var db = await Db.OpenAsync(Fixture);
        return await db.QuerySingleOrDefaultAsync<string?>("select firstname from users where username = @username", new { username });
    }

    [Fact]
    public async Task TheBearerTokenWorksOnEveryAuthenticatedRouteTheCookieOpens()
    {
        await using var legacy = Factory.WithLegacyClients();
        var page = await LegacyClients.RegisterAndSignInAsync(legacy);
        var raw = Users.Raw(legacy);
        foreach (var url in new[] { "/accounts/me", "/auth/session", "/accounts/me/activity", "/accounts/me/sessions" })
            await Http.JsonAsync(await LegacyClients.BearerAsync(raw, HttpMethod.Get, url, page.Token!), HttpStatusCode.OK);
        var session = await Http.JsonAsync(await LegacyClients.BearerAsync(raw, HttpMethod.Get, "/auth/session", page.Token!), HttpStatusCode.OK);
        Assert.Equal("alice", session.GetProperty("username").GetString());
    }

    [Fact]
    public async Task StateChangingBearerRequestsWithoutAnyOriginWork()
    {
        await using var legacy = Factory.WithLegacyClients();
        var token = (await LegacyClients.RegisterAndSignInAsync(legacy)).Token!;
        var noOrigin = ChatterPage.Open(legacy, origin: null, token: token);

        var updated = await LegacyClients.AssertPageJsonAsync(await noOrigin.UpdateAccountAsync(new { firstname = "Alicia" }));
        Assert.Equal("Alicia", updated.GetProperty("firstname").GetString());
        await LegacyClients.AssertPageJsonAsync(await noOrigin.ResetPasswordAsync(Users.Password, Users.OtherPassword));
        await LegacyClients.AssertPageJsonAsync(await noOrigin.RequestAsync(HttpMethod.Post, "/accounts/me/password",
            new { current_password = Users.OtherPassword, new_password = Users.Password }));
        await LegacyClients.AssertPageJsonAsync(await noOrigin.DeleteAccountAsync());
        Assert.Null(await FirstnameAsync("alice"));
    }

    [Fact]
    public async Task ACookieRequestWithoutOriginIsStillRefusedInLegacyMode()
    {
        await using var legacy = Factory.WithLegacyClients();
        var alice = await Users.SignUpAndInAsync(legacy);
        var client = Users.Raw(legacy, origin: null);
        client.DefaultRequestHeaders.Add("Cookie", $"access_token={alice.AccessToken}");
        await Http.AssertProblemAsync(await Users.PatchJsonAsync(client, "/accounts/me", new { firstname = "Hacked" }),
            HttpStatusCode.Forbidden, "origin_not_allowed");
        Assert.Equal("Alice", await FirstnameAsync("alice"));
    }

    [Fact]
    public async Task LogoutWithTheBearerHeaderEndsTheTokenAtOnce()
    {
        await using var legacy = Factory.WithLegacyClients();
        var token = (await LegacyClients.RegisterAndSignInAsync(legacy)).Token!;
        var other = (await LegacyClients.SignInAsync(legacy, "alice")).Token!;

        var response = await LegacyClients.BearerAsync(Users.Raw(legacy, origin: null), HttpMethod.Post, "/auth/logout", token);
        await LegacyClients.AssertPageJsonAsync(response);

        await AssertTokenFailsAsync(legacy, token);
        await AssertTokenWorksAsync(legacy, other); // only this session ended
    }

    [Fact]
    public async Task LogoutAllWithTheBearerHeaderEndsEveryToken()
    {
        await using var legacy = Factory.WithLegacyClients();
        var token = (await LegacyClients.RegisterAndSignInAsync(legacy)).Token!;
        var other = (await LegacyClients.SignInAsync(legacy, "alice")).Token!;
        var cookie = await Users.SignInAsync(legacy, "alice");

        await LegacyClients.AssertPageJsonAsync(
            await LegacyClients.BearerAsync(Users.Raw(legacy, origin: null), HttpMethod.Post, "/auth/logout-all", token));

        await AssertTokenFailsAsync(legacy, token);
        await AssertTokenFailsAsync(legacy, other);
        await Http.AssertProblemAsync(await cookie.Client.GetAsync("/accounts/me"), HttpStatusCode.Unauthorized, "unauthorized");
    }

    [Theory]
    [InlineData("/accounts/reset-password")]
    [InlineData("/accounts/me/password")]
    public async Task APasswordChangeEndsEveryOtherSessionsTokenAtOnceButKeepsThisOne(string route)
    {
        await using var legacy = Factory.WithLegacyClients();
        var page = await LegacyClients.RegisterAndSignInAsync(legacy);
        var other = (await LegacyClients.SignInAsync(legacy, "alice")).Token!;
        var cookie = await Users.SignInAsync(legacy, "alice");
        await AssertTokenWorksAsync(legacy, other);

        object body = route == "/accounts/reset-password"
            ? new { old_password = Users.Password, new_password = Users.OtherPassword }
            : new { current_password = Users.Password, new_password = Users.OtherPassword };
        await LegacyClients.AssertPageJsonAsync(await page.RequestAsync(HttpMethod.Post, route, body));

        await AssertTokenFailsAsync(legacy, other);
        await Http.AssertProblemAsync(await cookie.Client.GetAsync("/accounts/me"), HttpStatusCode.Unauthorized, "unauthorized");
        await AssertTokenWorksAsync(legacy, page.Token!);
    }

    [Fact]
    public async Task APasswordChangeThroughTheCookieEndsTheBearerSessions()
    {
        await using var legacy = Factory.WithLegacyClients();
        var token = (await LegacyClients.RegisterAndSignInAsync(legacy)).Token!;
        var cookie = await Users.SignInAsync(legacy, "alice");
        await Http.JsonAsync(await cookie.Client.PostAsync("/accounts/me/password",
            Http.Json(new { current_password = Users.Password, new_password = Users.OtherPassword })), HttpStatusCode.OK);
        await AssertTokenFailsAsync(legacy, token);
    }

    [Fact]
    public async Task ARevokedSessionsTokenFailsAtOnce()
    {
        await using var legacy = Factory.WithLegacyClients();
        var token = (await LegacyClients.RegisterAndSignInAsync(legacy)).Token!;
        var laptop = await Users.SignInAsync(legacy, "alice");
        var sid = Tokens.Read(token).GetClaim("sid").Value;
        await Http.JsonAsync(await laptop.Client.DeleteAsync($"/accounts/me/sessions/{sid}"), HttpStatusCode.OK);
        await AssertTokenFailsAsync(legacy, token);
        await Http.JsonAsync(await laptop.Client.GetAsync("/accounts/me"), HttpStatusCode.OK);
    }

    [Fact]
    public async Task AfterDeletingTheAccountEveryTokenOfItFails()
    {
        await using var legacy = Factory.WithLegacyClients();
        var page = await LegacyClients.RegisterAndSignInAsync(legacy);
        var other = (await LegacyClients.SignInAsync(legacy, "alice")).Token!;
        await LegacyClients.AssertPageJsonAsync(await page.DeleteAccountAsync());
        await AssertTokenFailsAsync(legacy, page.Token!);
        await AssertTokenFailsAsync(legacy, other);
    }

    [Fact]
    public async Task AnExpiredBearerTokenIsRefusedLikeAnExpiredCookie()
    {
        await using var legacy = Factory.WithLegacyClients();
        var token = (await LegacyClients.RegisterAndSignInAsync(legacy)).Token!;
        var jwt = Tokens.Read(token);
        var userId = long.Parse(jwt.GetClaim("sub").Value);
        var sid = jwt.GetClaim("sid").Value;

        // the same live session, signed with the real key: valid now, refused once expired
        await AssertTokenWorksAsync(legacy, Tokens.Sign(Tokens.Claims(userId, sid, "alice")));
        var expired = Tokens.Sign(Tokens.Claims(userId, sid, "alice", expires: DateTimeOffset.UtcNow.AddMinutes(-10)));
        await AssertTokenFailsAsync(legacy, expired);
        await Http.AssertProblemAsync(await Users.WithAccessToken(legacy, expired).GetAsync("/accounts/me"), HttpStatusCode.Unauthorized, "unauthorized");
    }

    public static TheoryData<string> Forgeries() => ["other-key", "tampered-signature", "tampered-payload", "alg-none", "unsigned"];

    [Theory]
    [MemberData(nameof(Forgeries))]
    public async Task ABearerTokenWithAForgedSignatureIsRefused(string forgery)
    {
        await using var legacy = Factory.WithLegacyClients();
        var page = await LegacyClients.RegisterAndSignInAsync(legacy);
        var bob = await LegacyClients.RegisterAndSignInAsync(legacy, "bob");
        var genuine = page.Token!;
        var parts = genuine.Split('.');
        var jwt = Tokens.Read(genuine);
        var claims = Tokens.Claims(long.Parse(jwt.GetClaim("sub").Value), jwt.GetClaim("sid").Value, "alice", role: "admin");

        var token = forgery switch
        {
            "other-key" => Tokens.Sign(claims, key: "another-signing-key-that-is-long-enough-9876543210"),
            "tampered-signature" => $"{parts[0]}.{parts[1]}.{Flip(parts[2])}",
            "tampered-payload" => $"{parts[0]}.{ReplaceSub(parts[1], Tokens.Read(bob.Token!).GetClaim("sub").Value)}.{parts[2]}",
            "alg-none" => $"{Tokens.Base64Url("{\"alg\":\"none\",\"typ\":\"JWT\"}")}.{parts[1]}.",
            _ => $"{parts[0]}.{parts[1]}.",
        };
        await AssertTokenFailsAsync(legacy, token);
        // nor can it change anything, from the pages' origin or without one
        await LegacyClients.AssertPageErrorAsync(
            await ChatterPage.Open(legacy, token: token).UpdateAccountAsync(new { firstname = "Mallory" }), HttpStatusCode.Unauthorized);
        var patch = await ChatterPage.Open(legacy, origin: null, token: token).UpdateAccountAsync(new { firstname = "Mallory" });
        Assert.True(patch.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden, $"got {(int)patch.StatusCode}");
        await LegacyClients.AssertPageErrorAsync(patch, patch.StatusCode);
        Assert.Equal("Alice", await FirstnameAsync("alice"));
        Assert.Equal("Alice", await FirstnameAsync("bob"));
        await AssertTokenWorksAsync(legacy, genuine);
    }

    static string Flip(string signature)
    {
        var bytes = Base64UrlEncoder.DecodeBytes(signature);
        bytes[0] ^= 0x01;
        return Base64UrlEncoder.Encode(bytes);
    }

    static string ReplaceSub(string payloadSegment, string sub)
    {
        var payload = JsonNode.Parse(Encoding.UTF8.GetString(Base64UrlEncoder.DecodeBytes(payloadSegment)))!.AsObject();
        payload["sub"] = sub;
        return Tokens.Base64Url(payload.ToJsonString());
    }

    [Theory]
    [InlineData("/accounts/me", "GET")]
    [InlineData("/accounts/me", "PATCH")]
    [InlineData("/accounts/me", "DELETE")]
    [InlineData("/accounts/reset-password", "POST")]
    [InlineData("/accounts/register", "POST")]
    [InlineData("/auth/login", "POST")]
    public async Task APreflightFromThePagesOriginAllowsTheBearerAndJsonHeaders(string url, string method)
    {
        await using var legacy = Factory.WithLegacyClients();
        var response = await LegacyClients.PreflightAsync(legacy, url, method);
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(LegacyClients.PagesOrigin, Assert.Single(response.Headers.GetValues("Access-Control-Allow-Origin")));
        var allowedHeaders = string.Join(",", response.Headers.GetValues("Access-Control-Allow-Headers"))
            .Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("authorization", allowedHeaders, StringComparer.OrdinalIgnoreCase);
        Assert.Contains("content-type", allowedHeaders, StringComparer.OrdinalIgnoreCase);
        if (response.Headers.TryGetValues("Access-Control-Allow-Methods", out var methods))
            Assert.Contains(method, string.Join(",", methods), StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("https://evil.example", "DELETE")]
    [InlineData("https://evil.example", "GET")]
    [InlineData("http://localhost:4001", "PATCH")]
    [InlineData("null", "POST")]
    public async Task APreflightFromADisallowedOriginGetsNoAllowOrigin(string origin, string method)
    {
        await using var legacy = Factory.WithLegacyClients();
        var response = await LegacyClients.PreflightAsync(legacy, "/accounts/me", method, origin);
        Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task BearerResponsesCarryCorsHeadersOnlyForAllowedOrigins()
    {
        await using var legacy = Factory.WithLegacyClients();
        var token = (await LegacyClients.RegisterAndSignInAsync(legacy)).Token!;

        var fromPages = await ChatterPage.Open(legacy, token: token).GetAccountAsync();
        Assert.Equal(HttpStatusCode.OK, fromPages.StatusCode);
        Assert.Equal(LegacyClients.PagesOrigin, Assert.Single(fromPages.Headers.GetValues("Access-Control-Allow-Origin")));

        var fromEvil = await ChatterPage.Open(legacy, origin: "https://evil.example", token: token).GetAccountAsync();
        Assert.False(fromEvil.Headers.Contains("Access-Control-Allow-Origin"));
    }
}
