using System.Net;
using System.Net.Http.Json;
using AccountsApi.Tests.Infrastructure;
using Dapper;
using MimeKit;

namespace AccountsApi.Tests.Email;

/// <summary>Every mail here travels over real SMTP to the in-process server of the fixture.</summary>
public sealed class EmailFlowTests(ApiFixture fixture) : ApiTest(fixture)
{
    const string VerifyPrefix = ApiFactory.SiteOrigin + "/verify-email?token=";
    const string ResetPrefix = ApiFactory.SiteOrigin + "/reset-password?token=";

    TestSmtpServer Smtp => Fixture.Smtp;

    static Func<MimeMessage, bool> To(string address, string subject) =>
        m => m.To.Mailboxes.Any(b => b.Address == address) && m.Subject == subject;

    async Task<string> TokenFromMailAsync(string address, string subject, string prefix)
    {
        var mail = await Smtp.WaitForMessageAsync(To(address, subject));
        var link = TestSmtpServer.FindLink(mail, prefix);
        Assert.NotNull(link);
        return TestSmtpServer.TokenFrom(link!)!;
    }

    static Task<HttpResponseMessage> PostJsonAsync(HttpClient client, string url, object body) =>
        client.PostAsync(url, JsonContent.Create(body));

    [Fact]
    public async Task ANewUserVerifiesTheirEmailAndSignsInEndToEnd()
    {
        var browser = Users.Browser(Factory);
        await Users.RegisterAsync(browser, "vera");
        var token = await TokenFromMailAsync("vera@example.com", "Confirm your email address", VerifyPrefix);

        var signedIn = await Users.SignInAsync(Factory, "vera");
        var before = await Http.JsonAsync(await signedIn.Client.GetAsync("/accounts/me"), HttpStatusCode.OK);
        Assert.False(before.GetProperty("email_verified").GetBoolean());

        var verified = await Http.JsonAsync(await PostJsonAsync(browser, "/accounts/verify-email", new { token }), HttpStatusCode.OK);
        Assert.True(verified.GetProperty("email_verified").GetBoolean());
        var after = await Http.JsonAsync(await signedIn.Client.GetAsync("/accounts/me"), HttpStatusCode.OK);
        Assert.True(after.GetProperty("email_verified").GetBoolean());

        // single use
        await Http.AssertProblemAsync(await PostJsonAsync(browser, "/accounts/verify-email", new { token }), HttpStatusCode.BadRequest, "invalid_token");
    }

    [Fact]
    public async Task MailLinksComeFromPublicSiteUrlNeverFromTheHostHeader()
    {
        var browser = Users.Browser(Factory);
        browser.DefaultRequestHeaders.Host = "evil.example";
        await Users.RegisterAsync(browser, "hosty");
        var mail = await Smtp.WaitForMessageAsync(To("hosty@example.com", "Confirm your email address"));
        Assert.DoesNotContain("evil.example", TestSmtpServer.TextBody(mail) + TestSmtpServer.HtmlBody(mail));
        Assert.NotNull(TestSmtpServer.FindLink(mail, VerifyPrefix));
        Assert.False(string.IsNullOrWhiteSpace(TestSmtpServer.HtmlBody(mail)));
    }

    [Fact]
    public async Task VerificationResendIsLimitedToOneMailPerMinutePerRecipient()
    {
        var signedIn = await Users.SignUpAndInAsync(Factory, "resa");
        await Smtp.WaitForMessageAsync(To("resa@example.com", "Confirm your email address"));

        var first = await PostJsonAsync(signedIn.Client, "/accounts/verify-email/resend", new { });
        var byAddress = await PostJsonAsync(Users.Browser(Factory), "/accounts/verify-email/resend", new { email = "resa@example.com" });
        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, byAddress.StatusCode);
        Assert.Equal(await first.Content.ReadAsStringAsync(), await byAddress.Content.ReadAsStringAsync());
        await Task.Delay(2500); // several sender rounds: a second mail would have arrived by now
        Assert.Equal(1, Smtp.Messages.Count(To("resa@example.com", "Confirm your email address")));
        await using var db = await Db.OpenAsync(Fixture);
        Assert.Equal(1, await db.ExecuteScalarAsync<int>("select count(*) from email_outbox where kind = 'verify_email'"));
    }

    [Fact]
    public async Task VerificationResendSendsANewWorkingLinkOnceTheMinuteHasPassed()
    {
        await using var quick = Factory.WithSettings(new Dictionary<string, string?>(ApiFixture.SmtpSettings(Smtp)) { ["EMAIL_THROTTLE_SECONDS"] = "1" });
        var signedIn = await Users.SignUpAndInAsync(quick, "resb");
        var oldToken = await TokenFromMailAsync("resb@example.com", "Confirm your email address", VerifyPrefix);
        await Task.Delay(1100);
        Smtp.Clear();
        Assert.Equal(HttpStatusCode.Accepted, (await PostJsonAsync(signedIn.Client, "/accounts/verify-email/resend", new { })).StatusCode);
        var newToken = await TokenFromMailAsync("resb@example.com", "Confirm your email address", VerifyPrefix);
        Assert.NotEqual(oldToken, newToken);

        // the older link stopped working when the new one was sent
        await Http.AssertProblemAsync(await PostJsonAsync(signedIn.Client, "/accounts/verify-email", new { token = oldToken }),
            HttpStatusCode.BadRequest, "invalid_token");
        await Http.JsonAsync(await PostJsonAsync(signedIn.Client, "/accounts/verify-email", new { token = newToken }), HttpStatusCode.OK);
    }

    [Fact]
    public async Task UnverifiedAccountsCannotSignInWhenTheSettingRequiresIt()
    {
        await using var strict = Factory.WithSettings(new Dictionary<string, string?>(ApiFixture.SmtpSettings(Smtp)) { ["REQUIRE_VERIFIED_EMAIL"] = "true" });
        var browser = Users.Browser(strict);
        await Users.RegisterAsync(browser, "stricta");
        var token = await TokenFromMailAsync("stricta@example.com", "Confirm your email address", VerifyPrefix);

        await Http.AssertProblemAsync(await Users.PostLoginAsync(browser, "stricta", Users.Password), HttpStatusCode.Forbidden, "email_not_verified");
        // a wrong password still gets the plain answer: the specific one needs the right password
        await Http.AssertProblemAsync(await Users.PostLoginAsync(browser, "stricta", "Wrong-Pass-99"), HttpStatusCode.Unauthorized, "invalid_credentials");

        await Http.JsonAsync(await PostJsonAsync(browser, "/accounts/verify-email", new { token }), HttpStatusCode.OK);
        await Users.LoginAsync(browser, "stricta");
    }

    [Fact]
    public async Task AForgottenPasswordIsResetEndToEndAndEverySessionEnds()
    {
        var signedIn = await Users.SignUpAndInAsync(Factory, "rosa");
        var anonymous = Users.Browser(Factory);
        var known = await PostJsonAsync(anonymous, "/accounts/password-reset/request", new { email = "ROSA@example.com" });
        Assert.Equal(HttpStatusCode.Accepted, known.StatusCode);
        var token = await TokenFromMailAsync("rosa@example.com", "Reset your password", ResetPrefix);

        var confirm = await PostJsonAsync(anonymous, "/accounts/password-reset/confirm", new { token, new_password = Users.OtherPassword });
        await Http.JsonAsync(confirm, HttpStatusCode.OK);
        Assert.Null(Cookies.Get(confirm, "access_token")); // it does not sign in

        Assert.Equal(HttpStatusCode.Unauthorized, (await signedIn.Client.GetAsync("/accounts/me")).StatusCode);
        await Http.AssertProblemAsync(await Users.PostLoginAsync(anonymous, "rosa", Users.Password), HttpStatusCode.Unauthorized, "invalid_credentials");
        await Users.LoginAsync(Users.Browser(Factory), "rosa", Users.OtherPassword);
        await Smtp.WaitForMessageAsync(To("rosa@example.com", "Your password was changed"));

        await Http.AssertProblemAsync(await PostJsonAsync(anonymous, "/accounts/password-reset/confirm", new { token, new_password = "Another-Pass-77" }),
            HttpStatusCode.BadRequest, "invalid_token");
    }

    [Fact]
    public async Task AResetRequestAnswersTheSameWhetherOrNotTheAddressExists()
    {
        await Users.RegisterAsync(Users.Browser(Factory), "sam");
        var client = Users.Browser(Factory);
        var known = await PostJsonAsync(client, "/accounts/password-reset/request", new { email = "sam@example.com" });
        var unknown = await PostJsonAsync(client, "/accounts/password-reset/request", new { email = "nobody@example.com" });
        Assert.Equal(HttpStatusCode.Accepted, known.StatusCode);
        Assert.Equal(known.StatusCode, unknown.StatusCode);
        Assert.Equal(await known.Content.ReadAsStringAsync(), await unknown.Content.ReadAsStringAsync());
        await Smtp.WaitForMessageAsync(To("sam@example.com", "Reset your password"));
        await Smtp.EnsureNoMessageAsync(m => m.To.Mailboxes.Any(b => b.Address == "nobody@example.com"), TimeSpan.FromSeconds(1.5));
    }

    [Fact]
    public async Task AnExpiredResetTokenIsRefusedAndTheNewPasswordMustMeetThePolicy()
    {
        await Users.RegisterAsync(Users.Browser(Factory), "exa");
        var client = Users.Browser(Factory);
        await PostJsonAsync(client, "/accounts/password-reset/request", new { email = "exa@example.com" });
        var token = await TokenFromMailAsync("exa@example.com", "Reset your password", ResetPrefix);

        var weak = await PostJsonAsync(client, "/accounts/password-reset/confirm", new { token, new_password = "Password1" });
        var problem = await Http.AssertProblemAsync(weak, HttpStatusCode.BadRequest, "validation_failed");
        Assert.True(problem.GetProperty("errors").TryGetProperty("new_password", out _));

        await using (var db = await Db.OpenAsync(Fixture))
            await db.ExecuteAsync("update email_tokens set expires_at = now() - interval '1 second' where purpose = 'password_reset'");
        await Http.AssertProblemAsync(await PostJsonAsync(client, "/accounts/password-reset/confirm", new { token, new_password = Users.OtherPassword }),
            HttpStatusCode.BadRequest, "invalid_token");
        await Users.LoginAsync(client, "exa"); // the password did not change
    }

    [Fact]
    public async Task AResetLiftsALockout()
    {
        await Users.RegisterAsync(Users.Browser(Factory), "lucy");
        var client = Users.Browser(Factory);
        for (var i = 0; i < 5; i++) await Users.PostLoginAsync(client, "lucy", "Wrong-Pass-99");
        await Smtp.WaitForMessageAsync(To("lucy@example.com", "Your account was locked"));
        await Http.AssertProblemAsync(await Users.PostLoginAsync(client, "lucy", Users.Password), HttpStatusCode.Unauthorized, "invalid_credentials");

        await PostJsonAsync(client, "/accounts/password-reset/request", new { email = "lucy@example.com" });
        var token = await TokenFromMailAsync("lucy@example.com", "Reset your password", ResetPrefix);
        await Http.JsonAsync(await PostJsonAsync(client, "/accounts/password-reset/confirm", new { token, new_password = Users.OtherPassword }), HttpStatusCode.OK);
        await Users.LoginAsync(client, "lucy", Users.OtherPassword);
    }

    [Fact]
    public async Task AForcedResetMakesLoginAskForOne()
    {
        await Users.RegisterAsync(Users.Browser(Factory), "fred");
        await using (var db = await Db.OpenAsync(Fixture))
            await db.ExecuteAsync("update users set force_password_reset = true where username = 'fred'");
        var client = Users.Browser(Factory);
        await Http.AssertProblemAsync(await Users.PostLoginAsync(client, "fred", Users.Password), HttpStatusCode.Forbidden, "password_reset_required");
        await Http.AssertProblemAsync(await Users.PostLoginAsync(client, "fred", "Wrong-Pass-99"), HttpStatusCode.Unauthorized, "invalid_credentials");

        await PostJsonAsync(client, "/accounts/password-reset/request", new { email = "fred@example.com" });
        var token = await TokenFromMailAsync("fred@example.com", "Reset your password", ResetPrefix);
        await Http.JsonAsync(await PostJsonAsync(client, "/accounts/password-reset/confirm", new { token, new_password = Users.OtherPassword }), HttpStatusCode.OK);
        await Users.LoginAsync(client, "fred", Users.OtherPassword);
    }

    [Fact]
    public async Task AnEmailChangeStaysPendingUntilConfirmedAndTheOldAddressIsTold()
    {
        var signedIn = await Users.SignUpAndInAsync(Factory, "olga");
        var patched = await Http.JsonAsync(await Users.PatchJsonAsync(signedIn.Client, "/accounts/me", new { email = "olga.new@example.com" }), HttpStatusCode.OK);
        Assert.Equal("olga@example.com", patched.GetProperty("email").GetString());
        Assert.Equal("olga.new@example.com", patched.GetProperty("pending_email").GetString());

        var token = await TokenFromMailAsync("olga.new@example.com", "Confirm your new email address", VerifyPrefix);
        await Http.JsonAsync(await PostJsonAsync(signedIn.Client, "/accounts/verify-email", new { token }), HttpStatusCode.OK);

        var me = await Http.JsonAsync(await signedIn.Client.GetAsync("/accounts/me"), HttpStatusCode.OK);
        Assert.Equal("olga.new@example.com", me.GetProperty("email").GetString());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, me.GetProperty("pending_email").ValueKind);
        Assert.True(me.GetProperty("email_verified").GetBoolean());
        var notice = await Smtp.WaitForMessageAsync(To("olga@example.com", "Your email address was changed"));
        Assert.DoesNotContain("olga.new@example.com", TestSmtpServer.TextBody(notice)); // masked
        await Users.LoginAsync(Users.Browser(Factory), "olga.new@example.com");
    }

    [Fact]
    public async Task AnEmailChangeToATakenAddressIsRefused()
    {
        await Users.RegisterAsync(Users.Browser(Factory), "tina");
        var signedIn = await Users.SignUpAndInAsync(Factory, "tom");
        await Http.AssertProblemAsync(await Users.PatchJsonAsync(signedIn.Client, "/accounts/me", new { email = "TINA@example.com" }),
            HttpStatusCode.Conflict, "email_taken");
    }

    [Fact]
    public async Task SecurityNoticesGoOutForPasswordChangesAndNewDevices()
    {
        var signedIn = await Users.SignUpAndInAsync(Factory, "nora");
        var other = Users.Browser(Factory);
        other.DefaultRequestHeaders.UserAgent.Clear();
        other.DefaultRequestHeaders.TryAddWithoutValidation("User-Agent", "SomeOtherBrowser/2.0");
        await Users.LoginAsync(other, "nora");
        var notice = await Smtp.WaitForMessageAsync(To("nora@example.com", "New sign-in to your account"));
        Assert.Contains("SomeOtherBrowser/2.0", TestSmtpServer.TextBody(notice));

        await Http.JsonAsync(await PostJsonAsync(signedIn.Client, "/accounts/me/password",
            new { current_password = Users.Password, new_password = Users.OtherPassword }), HttpStatusCode.OK);
        await Smtp.WaitForMessageAsync(To("nora@example.com", "Your password was changed"));
        // the first sign-in ever and a sign-in from a known device send no notice
        Assert.Equal(1, Smtp.Messages.Count(To("nora@example.com", "New sign-in to your account")));
    }

    [Fact]
    public async Task AMailServerOutageLosesNothingAndSendsEachMailExactlyOnce()
    {
        await Smtp.StopAsync();
        var names = new[] { "out1", "out2", "out3" };
        foreach (var name in names) await Users.RegisterAsync(Users.Browser(Factory), name);

        await using var db = await Db.OpenAsync(Fixture);
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (await db.ExecuteScalarAsync<int>("select count(*) from email_outbox where attempts >= 1 and last_error is not null and status = 'pending'") < names.Length)
        {
            Assert.True(DateTime.UtcNow < deadline, "the sender never tried (and failed) to deliver during the outage");
            await Task.Delay(200);
        }
        Assert.Empty(Smtp.Messages);

        await Smtp.RestartAsync();
        foreach (var name in names) await Smtp.WaitForMessageAsync(To($"{name}@example.com", "Confirm your email address"), TimeSpan.FromSeconds(20));
        await Task.Delay(2500); // a few more sender rounds: nothing may arrive twice
        foreach (var name in names) Assert.Equal(1, Smtp.Messages.Count(To($"{name}@example.com", "Confirm your email address")));
        Assert.Equal(names.Length, await db.ExecuteScalarAsync<int>("select count(*) from email_outbox where status = 'sent' and sent_at is not null"));
    }

    [Fact]
    public async Task TwoInstancesDrainOneOutboxWithoutSendingAnythingTwice()
    {
        await using var second = Factory.WithSettings(ApiFixture.SmtpSettings(Smtp));
        _ = second.Server; // a second app, with its own sender, on the same database
        var names = Enumerable.Range(1, 12).Select(i => $"twin{i}").ToArray();
        await Task.WhenAll(names.Select((name, i) => Users.RegisterAsync(Users.Browser(i % 2 == 0 ? Factory : second), name)));
        foreach (var name in names) await Smtp.WaitForMessageAsync(To($"{name}@example.com", "Confirm your email address"));
        await Task.Delay(2000);
        foreach (var name in names) Assert.Equal(1, Smtp.Messages.Count(To($"{name}@example.com", "Confirm your email address")));
    }
}
