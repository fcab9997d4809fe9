using System.Net;
using System.Text.Json;
using AccountsApi.Tests.Infrastructure;
using Dapper;

namespace AccountsApi.Tests.Legacy;

/// <summary>
/// LEGACY_CLIENTS=true: Chatter's pages (register, login, account-details, password-reset), served unchanged
/// from another origin, replayed request by request as account-api.js sends them.
/// </summary>
public sealed class ChatterPagesTests(ApiFixture fixture) : ApiTest(fixture)
{
    async Task<long> UserCountAsync()
    {
        await using var db = await Db.OpenAsync(Fixture);
        return await db.ExecuteScalarAsync<long>("select count(*) from users");
    }

    async Task<DateTime?> TermsAcceptedAtAsync(string username)
    {
        await using var db = await Db.OpenAsync(Fixture);
        return await db.QuerySingleAsync<DateTime?>("select terms_accepted_at from users where username = @username", new { username });
    }

    [Fact]
    public async Task ThePagesCanRegisterSignInShowAndEditTheAccountChangeThePasswordAndDeleteIt()
    {
        await using var legacy = Factory.WithLegacyClients();

        // register.html
        var registerPage = ChatterPage.Open(legacy);
        var created = await LegacyClients.AssertPageJsonAsync(
            await registerPage.RegisterAsync(LegacyClients.PagesRegistration(dateOfBirth: "1990-04-01")), HttpStatusCode.Created);
        Assert.Equal("alice", created.GetProperty("username").GetString());
        Assert.Equal("1990-04-01", created.GetProperty("date_of_birth").GetString()?[..10]);

        // login.html: form post, the token is kept from the body
        var page = ChatterPage.Open(legacy);
        var login = await LegacyClients.AssertPageJsonAsync(await page.LoginAsync("alice", Users.Password));
        Assert.Equal("bearer", login.GetProperty("token_type").GetString());
        Assert.Equal("alice", login.GetProperty("username").GetString());
        var token = page.Token!;
        Assert.Equal(3, token.Split('.').Length);

        // account-details.html: load
        var me = await LegacyClients.AssertPageJsonAsync(await page.GetAccountAsync());
        LegacyClients.AssertAccountFields(me);
        Assert.Equal("alice", me.GetProperty("username").GetString());
        Assert.Equal("Alice", me.GetProperty("firstname").GetString());
        Assert.Equal("alice@example.com", me.GetProperty("email").GetString());
        Assert.Equal("active", me.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.String, me.GetProperty("last_login").ValueKind);

        // account-details.html: edit (the form sends every field, email unchanged, the date plus T00:00:00)
        var updated = await LegacyClients.AssertPageJsonAsync(await page.UpdateAccountAsync(new Dictionary<string, object?>
        {
            ["firstname"] = "Alicia",
            ["lastname"] = "Pleasance",
            ["email"] = "alice@example.com",
            ["date_of_birth"] = "1990-05-06T00:00:00",
        }));
        LegacyClients.AssertAccountFields(updated);
        Assert.Equal("Alicia", updated.GetProperty("firstname").GetString());
        Assert.Equal("Pleasance", updated.GetProperty("lastname").GetString());
        Assert.Equal("alice@example.com", updated.GetProperty("email").GetString());
        Assert.Equal("1990-05-06", updated.GetProperty("date_of_birth").GetString()?[..10]);
        var reloaded = await LegacyClients.AssertPageJsonAsync(await page.GetAccountAsync());
        Assert.Equal("Alicia", reloaded.GetProperty("firstname").GetString());
        Assert.Equal("1990-05-06", reloaded.GetProperty("date_of_birth").GetString()?[..10]);

        // password-reset.html: the token stays in localStorage afterwards, and this session goes on
        var changed = await LegacyClients.AssertPageJsonAsync(await page.ResetPasswordAsync(Users.Password, Users.OtherPassword));
        Assert.True(changed.EnumerateObject().Any(), "the password change answered an empty object");
        Assert.Equal(token, page.Token);
        await LegacyClients.AssertPageJsonAsync(await page.GetAccountAsync());
        await LegacyClients.AssertPageErrorAsync(await ChatterPage.Open(legacy).LoginAsync("alice", Users.Password), HttpStatusCode.Unauthorized);
        await LegacyClients.AssertPageJsonAsync(await ChatterPage.Open(legacy).LoginAsync("alice", Users.OtherPassword));

        // account-details.html: delete, no password prompt, no body
        var deleted = await LegacyClients.AssertPageJsonAsync(await page.DeleteAccountAsync());
        Assert.Equal(JsonValueKind.String, deleted.GetProperty("message").ValueKind);
        Assert.Equal(0, await UserCountAsync());

        // the kept token now fails, as JSON the page can read
        await LegacyClients.AssertPageErrorAsync(await page.GetAccountAsync(), HttpStatusCode.Unauthorized);
        await LegacyClients.AssertPageErrorAsync(await ChatterPage.Open(legacy).LoginAsync("alice", Users.OtherPassword), HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task RegistrationAsThePagesSendItIsAcceptedAndRecordedAsTermsNotAccepted()
    {
        await using var legacy = Factory.WithLegacyClients();
        var body = LegacyClients.PagesRegistration(dateOfBirth: "1985-11-30");
        Assert.False(body.ContainsKey("accept_terms"));
        var account = await LegacyClients.AssertPageJsonAsync(await ChatterPage.Open(legacy).RegisterAsync(body), HttpStatusCode.Created);
        LegacyClients.AssertAccountFields(account);
        Assert.Equal("1985-11-30", account.GetProperty("date_of_birth").GetString()?[..10]);
        Assert.Null(await TermsAcceptedAtAsync("alice"));
    }

    [Fact]
    public async Task RegistrationWithoutADateOfBirthIsAccepted()
    {
        await using var legacy = Factory.WithLegacyClients();
        var account = await LegacyClients.AssertPageJsonAsync(
            await ChatterPage.Open(legacy).RegisterAsync(LegacyClients.PagesRegistration(dateOfBirth: null)), HttpStatusCode.Created);
        Assert.Equal(JsonValueKind.Null, account.GetProperty("date_of_birth").ValueKind);
    }

    [Fact]
    public async Task RegistrationThatAcceptsTheTermsRecordsTheAcceptance()
    {
        await using var legacy = Factory.WithLegacyClients();
        var body = LegacyClients.PagesRegistration();
        body["accept_terms"] = true;
        await LegacyClients.AssertPageJsonAsync(await ChatterPage.Open(legacy).RegisterAsync(body), HttpStatusCode.Created);
        var acceptedAt = await TermsAcceptedAtAsync("alice");
        Assert.NotNull(acceptedAt);
        Assert.InRange(acceptedAt!.Value.ToUniversalTime(), DateTime.UtcNow.AddMinutes(-5), DateTime.UtcNow.AddMinutes(1));
    }

    [Theory]
    [InlineData("alice")]
    [InlineData("alice@example.com")]
    public async Task AFormLoginAnswersTheAccountWithABearerToken(string login)
    {
        await using var legacy = Factory.WithLegacyClients();
        await ChatterPage.Open(legacy).RegisterAsync(LegacyClients.PagesRegistration());
        var page = ChatterPage.Open(legacy);
        var response = await page.LoginAsync(login, Users.Password);
        var body = await LegacyClients.AssertPageJsonAsync(response);

        var token = body.GetProperty("access_token").GetString()!;
        Assert.Equal("bearer", body.GetProperty("token_type").GetString());
        Assert.Equal(900, body.GetProperty("expires_in").GetInt32()); // ACCESS_TOKEN_MINUTES default 15
        LegacyClients.AssertAccountFields(body);
        Assert.Equal("alice", body.GetProperty("username").GetString());
        Assert.Equal("alice@example.com", body.GetProperty("email").GetString());
        Assert.DoesNotContain("password", body.GetRawText(), StringComparison.OrdinalIgnoreCase);

        var jwt = Tokens.Read(token);
        Assert.Equal(body.GetProperty("id").GetInt64().ToString(), jwt.GetClaim("sub").Value);
        Assert.InRange((jwt.ValidTo - DateTime.UtcNow).TotalMinutes, 14, 16);

        // the usual cookies as well
        var access = Cookies.Header(response, "access_token");
        var refresh = Cookies.Header(response, "refresh_token");
        Assert.NotNull(access);
        Assert.NotNull(refresh);
        Assert.True(access!.HttpOnly);
        Assert.True(refresh!.HttpOnly);

        var me = await LegacyClients.AssertPageJsonAsync(await page.GetAccountAsync());
        Assert.Equal("alice", me.GetProperty("username").GetString());
    }

    [Fact]
    public async Task TheBearerTokenLifetimeFollowsTheAccessTokenSetting()
    {
        await using var legacy = Factory.WithLegacyClients(new Dictionary<string, string?> { ["ACCESS_TOKEN_MINUTES"] = "5" });
        await ChatterPage.Open(legacy).RegisterAsync(LegacyClients.PagesRegistration());
        var page = ChatterPage.Open(legacy);
        var body = await LegacyClients.AssertPageJsonAsync(await page.LoginAsync("alice", Users.Password));
        Assert.Equal(300, body.GetProperty("expires_in").GetInt32());
        Assert.InRange((Tokens.Read(page.Token!).ValidTo - DateTime.UtcNow).TotalMinutes, 4, 6);
    }

    [Fact]
    public async Task AJsonLoginNeverReturnsATokenInLegacyMode()
    {
        await using var legacy = Factory.WithLegacyClients();
        await Users.RegisterAsync(Users.Browser(legacy));
        var response = await Users.LoginAsync(Users.Browser(legacy), "alice");
        var body = await Http.JsonAsync(response, HttpStatusCode.OK);
        Assert.False(body.TryGetProperty("access_token", out _), body.GetRawText());
        Assert.False(body.TryGetProperty("token_type", out _));
        Assert.DoesNotContain(Cookies.Get(response, "access_token")!, body.GetRawText());
    }

    [Theory]
    [InlineData("1991-02-03", "1991-02-03")]
    [InlineData("1991-02-03T00:00:00", "1991-02-03")]
    [InlineData(null, null)]
    public async Task TheAccountFormAcceptsEveryDateOfBirthShape(string? sent, string? expected)
    {
        await using var legacy = Factory.WithLegacyClients();
        var page = await LegacyClients.RegisterAndSignInAsync(legacy);
        var updated = await LegacyClients.AssertPageJsonAsync(await page.UpdateAccountAsync(new Dictionary<string, object?>
        {
            ["firstname"] = "Alice", ["lastname"] = "Liddell", ["email"] = "alice@example.com", ["date_of_birth"] = sent,
        }));
        var me = await LegacyClients.AssertPageJsonAsync(await page.GetAccountAsync());
        foreach (var account in new[] { updated, me })
        {
            var dob = account.GetProperty("date_of_birth");
            if (expected is null) Assert.Equal(JsonValueKind.Null, dob.ValueKind);
            else Assert.Equal(expected, dob.GetString()?[..10]);
        }
    }

    [Fact]
    public async Task SavingTheAccountFormWithTheSameEmailStartsNoReverification()
    {
        await using var legacy = Factory.WithLegacyClients();
        var page = await LegacyClients.RegisterAndSignInAsync(legacy);
        var updated = await LegacyClients.AssertPageJsonAsync(await page.UpdateAccountAsync(new Dictionary<string, object?>
        {
            ["firstname"] = "Alice", ["lastname"] = "Liddell", ["email"] = "alice@example.com",
        }));
        Assert.Equal("alice@example.com", updated.GetProperty("email").GetString());
        if (updated.TryGetProperty("pending_email", out var pending)) Assert.Equal(JsonValueKind.Null, pending.ValueKind);
    }

    [Fact]
    public async Task AWrongPasswordAtTheLoginFormAnswersJsonWithADetail()
    {
        await using var legacy = Factory.WithLegacyClients();
        await ChatterPage.Open(legacy).RegisterAsync(LegacyClients.PagesRegistration());
        var page = ChatterPage.Open(legacy);
        var response = await page.LoginAsync("alice", "Wrong-Pass-99");
        await LegacyClients.AssertPageErrorAsync(response, HttpStatusCode.Unauthorized);
        Assert.Null(page.Token);
        Assert.Null(Cookies.Get(response, "access_token"));
        Assert.Null(Cookies.Get(response, "username"));

        await LegacyClients.AssertPageErrorAsync(await ChatterPage.Open(legacy).LoginAsync("nobody", "Wrong-Pass-99"), HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task ADuplicateRegistrationAnswersJsonWithADetail()
    {
        await using var legacy = Factory.WithLegacyClients();
        await LegacyClients.AssertPageJsonAsync(await ChatterPage.Open(legacy).RegisterAsync(LegacyClients.PagesRegistration()), HttpStatusCode.Created);
        await LegacyClients.AssertPageErrorAsync(await ChatterPage.Open(legacy).RegisterAsync(LegacyClients.PagesRegistration()), HttpStatusCode.Conflict);

        var sameEmail = LegacyClients.PagesRegistration("alice2");
        sameEmail["email"] = "alice@example.com";
        await LegacyClients.AssertPageErrorAsync(await ChatterPage.Open(legacy).RegisterAsync(sameEmail), HttpStatusCode.Conflict);
        Assert.Equal(1, await UserCountAsync());
    }

    [Theory]
    [InlineData("nodigits-Here", "must contain a digit")]
    [InlineData("Sh0rt", "at least")]
    [InlineData("alllower123", "upper-case")]
    public async Task AWeakPasswordAtRegistrationAnswersAOneLineSummaryAndPerFieldErrors(string password, string fragment)
    {
        await using var legacy = Factory.WithLegacyClients();
        var body = await LegacyClients.AssertPageErrorAsync(
            await ChatterPage.Open(legacy).RegisterAsync(LegacyClients.PagesRegistration(password: password)), HttpStatusCode.BadRequest);
        var detail = body.GetProperty("detail").GetString()!;
        Assert.Contains("password", detail);
        Assert.Contains(fragment, detail);
        Assert.DoesNotContain("\n", detail);
        Assert.Contains(fragment, body.GetProperty("errors").GetProperty("password")[0].GetString());
        Assert.Equal(0, await UserCountAsync());
    }

    [Fact]
    public async Task AFailedPasswordChangeAnswersJsonWithADetail()
    {
        await using var legacy = Factory.WithLegacyClients();
        var page = await LegacyClients.RegisterAndSignInAsync(legacy);
        var wrong = await LegacyClients.AssertPageErrorAsync(await page.ResetPasswordAsync("Not-The-Pass-1", Users.OtherPassword), HttpStatusCode.Forbidden);
        Assert.Equal("invalid_password", wrong.GetProperty("code").GetString());

        var weak = await LegacyClients.AssertPageErrorAsync(await page.ResetPasswordAsync(Users.Password, "weakpass"), HttpStatusCode.BadRequest);
        Assert.Contains("new_password", weak.GetProperty("detail").GetString());
        Assert.True(weak.GetProperty("errors").TryGetProperty("new_password", out _));

        // nothing changed: the old password still signs in
        await LegacyClients.SignInAsync(legacy, "alice", Users.Password);
    }

    [Fact]
    public async Task AnInvalidAccountFormAnswersJsonWithADetail()
    {
        await using var legacy = Factory.WithLegacyClients();
        var page = await LegacyClients.RegisterAndSignInAsync(legacy);
        var body = await LegacyClients.AssertPageErrorAsync(await page.UpdateAccountAsync(new Dictionary<string, object?>
        {
            ["firstname"] = "Alice", ["lastname"] = "Liddell", ["email"] = "not-an-email",
        }), HttpStatusCode.BadRequest);
        Assert.Contains("email", body.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task TheAccountPageWithoutAValidTokenGetsJsonWithADetail()
    {
        await using var legacy = Factory.WithLegacyClients();
        await LegacyClients.AssertPageErrorAsync(await ChatterPage.Open(legacy, token: "not-a-jwt").GetAccountAsync(), HttpStatusCode.Unauthorized);
        await LegacyClients.AssertPageErrorAsync(await ChatterPage.Open(legacy).GetAccountAsync(), HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task ACookieDeleteWithoutAPasswordIsStillRefusedInLegacyMode()
    {
        await using var legacy = Factory.WithLegacyClients();
        var alice = await Users.SignUpAndInAsync(legacy);
        var request = new HttpRequestMessage(HttpMethod.Delete, "/accounts/me") { Content = LegacyClients.JsonBody(null) };
        var response = await alice.Client.SendAsync(request);
        var body = await Http.AssertProblemAsync(response, HttpStatusCode.BadRequest, "validation_failed");
        Assert.True(body.GetProperty("errors").TryGetProperty("password", out _));
        Assert.Equal(1, await UserCountAsync());
        await Http.JsonAsync(await alice.Client.GetAsync("/accounts/me"), HttpStatusCode.OK);
    }

    [Fact]
    public async Task ABearerDeleteWithAWrongPasswordIsRefused()
    {
        await using var legacy = Factory.WithLegacyClients();
        var page = await LegacyClients.RegisterAndSignInAsync(legacy);
        await LegacyClients.AssertPageErrorAsync(
            await page.RequestAsync(HttpMethod.Delete, "/accounts/me", new { password = "Not-The-Pass-1" }), HttpStatusCode.Forbidden);
        Assert.Equal(1, await UserCountAsync());
    }
}
