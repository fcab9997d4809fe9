using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using AccountsApi.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting.Json;

namespace AccountsApi.Tests.Foundation;

public sealed class LogSecrecyTests(ApiFixture fixture) : ApiTest(fixture)
{
    sealed class CapturingSink : ILogEventSink
    {
        public ConcurrentQueue<string> Lines { get; } = new();

        public void Emit(LogEvent logEvent)
        {
            using var text = new StringWriter();
            new JsonFormatter(renderMessage: true).Format(logEvent, text);
            Lines.Enqueue(text.ToString());
        }
    }

    [Fact]
    public async Task NoPasswordTokenOrResetLinkEverReachesTheLogsEvenAtVerbose()
    {
        var sink = new CapturingSink();
        await using var app = Factory.WithSettings(new Dictionary<string, string?>(ApiFixture.SmtpSettings(Fixture.Smtp)) { ["LOG_LEVEL"] = "Verbose" })
            .WithServices(s => s.AddSingleton<ILogEventSink>(sink));

        var browser = app.CreateBrowserClient();
        var register = await browser.PostAsync("/accounts/register", JsonContent.Create(Users.RegisterBody("quiet")));
        Assert.Equal(HttpStatusCode.Created, register.StatusCode);
        var verifyMail = await Fixture.Smtp.WaitForMessageAsync(m => m.Subject == "Confirm your email address" && m.To.ToString().Contains("quiet@"));
        var verifyToken = TestSmtpServer.TokenFrom(TestSmtpServer.FindLink(verifyMail, ApiFactory.SiteOrigin + "/verify-email?token=")!)!;

        await Users.PostLoginAsync(browser, "quiet", "Wrong-Secret-77");
        var login = await Users.LoginAsync(browser, "quiet");
        var access = Cookies.Get(login, "access_token")!;
        var refresh = Cookies.Get(login, "refresh_token")!;
        await browser.PostAsync("/auth/refresh", null);
        await browser.PostAsync("/accounts/verify-email", JsonContent.Create(new { token = verifyToken }));
        await browser.PostAsync("/accounts/me/password", JsonContent.Create(new { current_password = Users.Password, new_password = Users.OtherPassword }));
        await browser.PostAsync("/accounts/password-reset/request", JsonContent.Create(new { email = "quiet@example.com" }));
        var resetMail = await Fixture.Smtp.WaitForMessageAsync(m => m.Subject == "Reset your password" && m.To.ToString().Contains("quiet@"));
        var resetLink = TestSmtpServer.FindLink(resetMail, ApiFactory.SiteOrigin + "/reset-password?token=")!;
        var resetToken = TestSmtpServer.TokenFrom(resetLink)!;
        await browser.PostAsync("/accounts/password-reset/confirm", JsonContent.Create(new { token = resetToken, new_password = "Third-Secret-55" }));

        var logs = string.Join("\n", sink.Lines);
        Assert.True(sink.Lines.Count > 10, "the capturing sink saw almost nothing: is it wired?");
        Assert.Contains("/accounts/register", logs); // requests are logged...
        foreach (var secret in new[] { Users.Password, Users.OtherPassword, "Wrong-Secret-77", "Third-Secret-55",
                     access, access.Split('.')[2], refresh, verifyToken, resetToken, resetLink })
            Assert.DoesNotContain(secret, logs); // ...their secrets are not
        Assert.DoesNotContain("bcrypt-sha384:", logs);
    }
}
