using System.Net;
using System.Net.Http.Json;
using AccountsApi.Tests.Infrastructure;
using Dapper;

namespace AccountsApi.Tests.Auth;

/// <summary>One account's whole life, checked for its audit trail and for secrets leaking into responses.</summary>
public sealed class AuditTests(ApiFixture fixture) : ApiTest(fixture)
{
    readonly List<(string Step, string Body)> responses = [];
    readonly HashSet<string> hashes = [];

    async Task<HttpResponseMessage> Record(string step, Task<HttpResponseMessage> request)
    {
        var response = await request;
        responses.Add((step, await response.Content.ReadAsStringAsync()));
        foreach (var header in response.Headers.Concat(response.Content.Headers).Where(h => h.Key != "Set-Cookie"))
            responses.Add((step + " headers", string.Join("\n", header.Value)));
        return response;
    }

    async Task RememberHashesAsync()
    {
        await using var db = await Db.OpenAsync(Fixture);
        foreach (var hash in await db.QueryAsync<string>("select password_hash from users")) hashes.Add(hash);
    }

    [Fact]
    public async Task EveryAuditedActionRecordsIpAndUserAgentAndNoResponseLeaksASecret()
    {
        var laptop = Users.Browser(Factory);
        var phone = Users.Browser(Factory);

        await Record("register", Users.PostRegisterAsync(laptop, Users.RegisterBody()));
        await Record("register bob", Users.PostRegisterAsync(Users.Browser(Factory), Users.RegisterBody("bob")));
        await Record("register weak", Users.PostRegisterAsync(Users.Browser(Factory), Users.RegisterBody("carol", password: "Password1")));
        await Record("register duplicate", Users.PostRegisterAsync(Users.Browser(Factory), Users.RegisterBody("alice2", "alice@example.com")));
        await RememberHashesAsync();
        Assert.Equal(2, hashes.Count);

        var login = await Record("login", Users.PostLoginAsync(laptop, "alice", Users.Password));
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        var phoneLogin = await Record("login phone", Users.PostLoginAsync(phone, "alice@example.com", Users.Password));
        var phoneSession = Tokens.Read(Cookies.Get(phoneLogin, "access_token")!).GetClaim("sid").Value;
        await Record("me", laptop.GetAsync("/accounts/me"));
        await Record("session", laptop.GetAsync("/auth/session"));
        await Record("refresh", laptop.PostAsync("/auth/refresh", null));
        Assert.Equal(HttpStatusCode.OK, (await Record("patch", Users.PatchJsonAsync(laptop, "/accounts/me", new { firstname = "Alicia" }))).StatusCode);
        await Record("sessions", laptop.GetAsync("/accounts/me/sessions"));
        Assert.Equal(HttpStatusCode.OK, (await Record("revoke", laptop.DeleteAsync($"/accounts/me/sessions/{phoneSession}"))).StatusCode);
        await Record("wrong current password", laptop.PostAsync("/accounts/me/password",
            JsonContent.Create(new { current_password = Users.OtherPassword, new_password = "Another-Good-1" })));
        Assert.Equal(HttpStatusCode.OK, (await Record("change password", laptop.PostAsync("/accounts/me/password",
            JsonContent.Create(new { current_password = Users.Password, new_password = Users.OtherPassword })))).StatusCode);
        await RememberHashesAsync();
        Assert.Equal(3, hashes.Count);
        await Record("activity", laptop.GetAsync("/accounts/me/activity"));

        for (var i = 0; i < 5; i++) await Record("bob wrong", Users.PostLoginAsync(Users.Browser(Factory), "bob", Users.OtherPassword));
        await Record("bob locked", Users.PostLoginAsync(Users.Browser(Factory), "bob", Users.Password));

        await Record("wrong delete", Users.DeleteWithJsonAsync(laptop, "/accounts/me", new { password = Users.Password }));
        Assert.Equal(HttpStatusCode.OK, (await Record("delete", Users.DeleteWithJsonAsync(laptop, "/accounts/me", new { password = Users.OtherPassword }))).StatusCode);

        await using var db = await Db.OpenAsync(Fixture);
        var rows = (await db.QueryAsync<(long Id, long? UserId, string Action, string? IpAddress, string? UserAgent, string? OldValue, string? NewValue)>(
            "select id, user_id, action, ip_address, user_agent, old_value, new_value from account_logs order by id")).ToList();
        var actions = rows.Select(r => r.Action).ToHashSet();
        foreach (var expected in new[] { "created", "login", "login_failed", "locked", "updated", "password_changed", "session_revoked", "deleted" })
            Assert.Contains(expected, actions);
        Assert.All(rows, r =>
        {
            Assert.True(r.UserId is not null, $"{r.Action} row {r.Id} has no user_id");
            Assert.False(string.IsNullOrEmpty(r.IpAddress), $"{r.Action} row {r.Id} has no ip_address");
            Assert.Equal(Users.UserAgent, r.UserAgent);
            foreach (var secret in new[] { Users.Password, Users.OtherPassword, "Another-Good-1" }.Concat(hashes))
                Assert.DoesNotContain(secret, (r.OldValue ?? "") + "|" + (r.NewValue ?? ""));
        });

        foreach (var (step, body) in responses)
        {
            foreach (var secret in new[] { Users.Password, Users.OtherPassword, "Another-Good-1", "Password1" }.Concat(hashes))
                Assert.False(body.Contains(secret), $"{step} response contains a secret: {body}");
            Assert.False(body.Contains("password_hash"), $"{step} response names password_hash: {body}");
            Assert.False(body.Contains("$2a$") || body.Contains("$2b$"), $"{step} response contains a bcrypt hash: {body}");
        }
    }
}
