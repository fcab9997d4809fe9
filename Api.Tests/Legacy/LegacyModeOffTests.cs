using System.Net;
using System.Text.Json;
using AccountsApi.Tests.Infrastructure;
using Dapper;

namespace AccountsApi.Tests.Legacy;

/// <summary>
/// LEGACY_CLIENTS=false, the default: no bearer tokens anywhere, no `username` cookie, terms must be accepted.
/// And what holds whatever the setting: JSON bodies, readable details, the date shapes.
/// </summary>
public sealed class LegacyModeOffTests(ApiFixture fixture) : ApiTest(fixture)
{
    async Task<long> UserCountAsync()
    {
        await using var db = await Db.OpenAsync(Fixture);
        return await db.ExecuteScalarAsync<long>("select count(*) from users");
    }

    async Task<string?> FirstnameAsync(string username)
    {
        await using var db = await Db.OpenAsync(Fixture);
        return await db.QuerySingleOrDefaultAsync<string?>("select firstname from users where username = @username", new { username });
    }

    /// <summary>The default app (no LEGACY_CLIENTS at all) and one with LEGACY_CLIENTS=false.</summary>
    public static TheoryData<bool> Explicitly() => [false, true];

    ApiFactory Off(bool explicitly) => explicitly ? Factory.WithSettings(LegacyClients.Off) : Factory.WithSettings(new Dictionary<string, string?>());

    public static TheoryData<string, string> AuthenticatedRoutes() => new()
    {
        { "GET", "/accounts/me" },
        { "GET", "/auth/session" },
        { "GET", "/accounts/me/activity" },
        { "GET", "/accounts/me/sessions" },
        { "PATCH", "/accounts/me" },
        { "DELETE", "/accounts/me" },
        { "POST", "/accounts/reset-password" },
        { "POST", "/accounts/me/password" },
        { "POST", "/auth/logout-all" },
    };

    [Theory]
    [MemberData(nameof(AuthenticatedRoutes))]
    public async Task AValidTokenAsABearerHeaderIsRefused(string method, string url)
    {
        var alice = await Users.SignUpAndInAsync(Factory);
        object? body = url switch
        {
            "/accounts/me" when method == "PATCH" => new { firstname = "Mallory" },
            "/accounts/me/password" => new { current_password = Users.Password, new_password = Users.OtherPassword },
            "/accounts/reset-password" => new { old_password = Users.Password, new_password = Users.OtherPassword },
            _ => null,
        };
        var page = ChatterPage.Open(Factory, token: alice.AccessToken); // from the allowed origin, as a browser would send it
        var response = await page.RequestAsync(new HttpMethod(method), url, body);
        await Http.AssertProblemAsync(response, HttpStatusCode.Unauthorized, "unauthorized");

        // nothing changed: the cookie session and the password are intact, the account is there
        await Http.JsonAsync(await alice.Client.GetAsync("/accounts/me"), HttpStatusCode.OK);
        Assert.Equal("Alice", await FirstnameAsync("alice"));
        await Users.LoginAsync(Users.Browser(Factory), "alice", Users.Password);
    }

    [Theory]
    [MemberData(nameof(Explicitly))]
    public async Task ABearerDeleteWithoutABodyIsRefused(bool explicitly)
    {
        await using var off = Off(explicitly);
        var alice = await Users.SignUpAndInAsync(off);
        var response = await ChatterPage.Open(off, token: alice.AccessToken).DeleteAccountAsync();
        await LegacyClients.AssertPageErrorAsync(response, HttpStatusCode.Unauthorized);
        var noOrigin = await ChatterPage.Open(off, origin: null, token: alice.AccessToken).DeleteAccountAsync();
        Assert.True(noOrigin.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden, $"got {(int)noOrigin.StatusCode}");
        await LegacyClients.AssertPageErrorAsync(noOrigin, noOrigin.StatusCode);
        Assert.Equal(1, await UserCountAsync());
    }

    [Theory]
    [MemberData(nameof(Explicitly))]
    public async Task AFormLoginAnswersTheAccountWithoutATokenOrAUsernameCookie(bool explicitly)
    {
        await using var off = Off(explicitly);
        await Users.RegisterAsync(Users.Browser(off));
        var page = ChatterPage.Open(off);
        var response = await page.LoginAsync("alice", Users.Password);
        var body = await LegacyClients.AssertPageJsonAsync(response);
        Assert.Equal("alice", body.GetProperty("username").GetString());
        Assert.False(body.TryGetProperty("access_token", out _), body.GetRawText());
        Assert.False(body.TryGetProperty("token_type", out _));
        Assert.Null(page.Token);
        Assert.Null(Cookies.Header(response, "username"));
        Assert.NotNull(Cookies.Get(response, "access_token")); // the cookie sign-in still works
        Assert.NotNull(Cookies.Get(response, "refresh_token"));
    }

    [Fact]
    public async Task NoRouteSetsOrClearsAUsernameCookie()
    {
        var alice = await Users.SignUpAndInAsync(Factory);
        var logout = await alice.Client.PostAsync("/auth/logout", Http.Json(new { }));
        Assert.Equal(HttpStatusCode.OK, logout.StatusCode);
        Assert.Null(Cookies.Header(logout, "username"));
    }

    [Theory]
    [MemberData(nameof(Explicitly))]
    public async Task RegistrationWithoutAcceptTermsIsRefused(bool explicitly)
    {
        await using var off = Off(explicitly);
        var response = await ChatterPage.Open(off).RegisterAsync(LegacyClients.PagesRegistration());
        var body = await LegacyClients.AssertPageErrorAsync(response, HttpStatusCode.BadRequest);
        Assert.True(body.GetProperty("errors").TryGetProperty("accept_terms", out _), body.GetRawText());
        Assert.Contains("accept_terms", body.GetProperty("detail").GetString());
        Assert.Equal(0, await UserCountAsync());
    }

    [Fact]
    public async Task AForgedBearerTokenIsRefusedToo()
    {
        var alice = await Users.SignUpAndInAsync(Factory);
        var forged = Tokens.Sign(Tokens.Claims(alice.UserId, alice.SessionId, "alice"), key: "another-signing-key-that-is-long-enough-9876543210");
        await Http.AssertProblemAsync(await ChatterPage.Open(Factory, token: forged).GetAccountAsync(), HttpStatusCode.Unauthorized, "unauthorized");
    }

    // ---- whatever the setting ----

    [Theory]
    [InlineData("1990-05-06")]
    [InlineData("1990-05-06T00:00:00")]
    [InlineData(null)]
    public async Task RegistrationAcceptsEveryDateOfBirthShape(string? dateOfBirth)
    {
        var body = Users.RegisterBody();
        body["date_of_birth"] = dateOfBirth;
        var account = await LegacyClients.AssertPageJsonAsync(await Users.PostRegisterAsync(Users.Browser(Factory), body), HttpStatusCode.Created);
        var dob = account.GetProperty("date_of_birth");
        if (dateOfBirth is null) Assert.Equal(JsonValueKind.Null, dob.ValueKind);
        else Assert.Equal("1990-05-06", dob.GetString()?[..10]);
    }

    [Theory]
    [InlineData("1991-02-03", "1991-02-03")]
    [InlineData("1991-02-03T00:00:00", "1991-02-03")]
    [InlineData(null, null)]
    public async Task PatchAcceptsEveryDateOfBirthShape(string? sent, string? expected)
    {
        var alice = await Users.SignUpAndInAsync(Factory);
        var updated = await LegacyClients.AssertPageJsonAsync(await Users.PatchJsonAsync(alice.Client, "/accounts/me",
            new Dictionary<string, object?> { ["date_of_birth"] = sent }));
        LegacyClients.AssertAccountFields(updated);
        var dob = updated.GetProperty("date_of_birth");
        if (expected is null) Assert.Equal(JsonValueKind.Null, dob.ValueKind);
        else Assert.Equal(expected, dob.GetString()?[..10]);
    }

    [Fact]
    public async Task AnUnreadableDateAnswersAProblemWithADetail()
    {
        var alice = await Users.SignUpAndInAsync(Factory);
        var response = await Users.PatchJsonAsync(alice.Client, "/accounts/me", new Dictionary<string, object?> { ["date_of_birth"] = "06/05/1990" });
        await LegacyClients.AssertPageErrorAsync(response, HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task TheRoutesThePagesCallAnswerJsonWithTheSettingOff()
    {
        var alice = await Users.SignUpAndInAsync(Factory);
        LegacyClients.AssertAccountFields(await LegacyClients.AssertPageJsonAsync(await alice.Client.GetAsync("/accounts/me")));
        LegacyClients.AssertAccountFields(await LegacyClients.AssertPageJsonAsync(
            await Users.PatchJsonAsync(alice.Client, "/accounts/me", new { firstname = "Alicia", email = "alice@example.com", date_of_birth = "1990-05-06T00:00:00" })));

        var changed = await LegacyClients.AssertPageJsonAsync(await alice.Client.PostAsync("/accounts/reset-password",
            Http.Json(new { old_password = Users.Password, new_password = Users.OtherPassword })));
        Assert.Equal(JsonValueKind.String, changed.GetProperty("message").ValueKind);

        var deleted = await LegacyClients.AssertPageJsonAsync(await Users.DeleteWithJsonAsync(alice.Client, "/accounts/me", new { password = Users.OtherPassword }));
        Assert.Equal(JsonValueKind.String, deleted.GetProperty("message").ValueKind);
        Assert.Equal(0, await UserCountAsync());
    }

    [Fact]
    public async Task FailuresThePagesShowHaveADetailWithTheSettingOff()
    {
        await Users.RegisterAsync(Users.Browser(Factory));
        await LegacyClients.AssertPageErrorAsync(await ChatterPage.Open(Factory).LoginAsync("alice", "Wrong-Pass-99"), HttpStatusCode.Unauthorized);
        await LegacyClients.AssertPageErrorAsync(await Users.PostRegisterAsync(Users.Browser(Factory), Users.RegisterBody()), HttpStatusCode.Conflict);
        var weak = await LegacyClients.AssertPageErrorAsync(
            await Users.PostRegisterAsync(Users.Browser(Factory), Users.RegisterBody("bob", password: "nodigits-Here")), HttpStatusCode.BadRequest);
        Assert.Contains("password: must contain a digit", weak.GetProperty("detail").GetString());
        Assert.Equal("must contain a digit", weak.GetProperty("errors").GetProperty("password")[0].GetString());
    }
}
