using System.Net;
using System.Text.Json;
using AccountsApi.Tests.Infrastructure;
using Dapper;

namespace AccountsApi.Tests.Accounts;

/// <summary>GET /accounts/me/sessions and DELETE /accounts/me/sessions/{id}.</summary>
public sealed class SessionListTests(ApiFixture fixture) : ApiTest(fixture)
{
    static async Task<List<JsonElement>> SessionsAsync(SignedIn user)
    {
        var body = await Http.JsonAsync(await user.Client.GetAsync("/accounts/me/sessions"), HttpStatusCode.OK);
        return body.GetProperty("items").EnumerateArray().ToList();
    }

    [Fact]
    public async Task SessionsListsTheActiveSessionsAndMarksTheCurrentOne()
    {
        var laptop = await Users.SignUpAndInAsync(Factory);
        var phone = await Users.SignInAsync(Factory, "alice");
        var ended = await Users.SignInAsync(Factory, "alice");
        await Http.JsonAsync(await ended.Client.PostAsync("/auth/logout", null), HttpStatusCode.OK);
        await Users.SignUpAndInAsync(Factory, "bob");

        var items = await SessionsAsync(laptop);
        Assert.Equal(new[] { laptop.SessionId, phone.SessionId }.Order(), items.Select(i => i.GetProperty("id").GetString()!).Order());
        var current = Assert.Single(items, i => i.GetProperty("current").GetBoolean());
        Assert.Equal(laptop.SessionId, current.GetProperty("id").GetString());
        foreach (var item in items)
        {
            Assert.Equal(Users.UserAgent, item.GetProperty("user_agent").GetString());
            Assert.False(string.IsNullOrEmpty(item.GetProperty("ip_address").GetString()));
            Assert.True(DateTimeOffset.Parse(item.GetProperty("expires_at").GetString()!) > DateTimeOffset.UtcNow.AddDays(1));
            Assert.True(DateTimeOffset.TryParse(item.GetProperty("created_at").GetString(), out _));
            Assert.True(DateTimeOffset.TryParse(item.GetProperty("last_seen_at").GetString(), out _));
            Assert.DoesNotContain("token", item.GetRawText());
        }

        var fromPhone = await SessionsAsync(phone);
        Assert.Equal(phone.SessionId, Assert.Single(fromPhone, i => i.GetProperty("current").GetBoolean()).GetProperty("id").GetString());
    }

    [Fact]
    public async Task RevokingASessionEndsItAtOnce()
    {
        var laptop = await Users.SignUpAndInAsync(Factory);
        var phone = await Users.SignInAsync(Factory, "alice");

        var response = await laptop.Client.DeleteAsync($"/accounts/me/sessions/{phone.SessionId}");
        var body = await Http.JsonAsync(response, HttpStatusCode.OK);
        Assert.False(string.IsNullOrWhiteSpace(body.GetProperty("message").GetString()));

        await Users.AssertSignedOutAsync(Factory, phone);
        await Http.JsonAsync(await laptop.Client.GetAsync("/accounts/me"), HttpStatusCode.OK);

        var items = await SessionsAsync(laptop);
        Assert.Equal([laptop.SessionId], items.Select(i => i.GetProperty("id").GetString()));

        await using var db = await Db.OpenAsync(Fixture);
        var log = await db.QuerySingleAsync<(long? UserId, string? IpAddress, string? UserAgent)>(
            "select user_id, ip_address, user_agent from account_logs where action = 'session_revoked'");
        Assert.Equal(laptop.UserId, log.UserId);
        Assert.False(string.IsNullOrEmpty(log.IpAddress));
        Assert.Equal(Users.UserAgent, log.UserAgent);
        Assert.NotNull(await db.ExecuteScalarAsync<DateTime?>("select revoked_at from user_sessions where id = @id", new { id = Guid.Parse(phone.SessionId) }));
    }

    [Fact]
    public async Task RevokingTheCurrentSessionSignsThisClientOut()
    {
        var laptop = await Users.SignUpAndInAsync(Factory);
        await Http.JsonAsync(await laptop.Client.DeleteAsync($"/accounts/me/sessions/{laptop.SessionId}"), HttpStatusCode.OK);
        await Http.AssertProblemAsync(await Users.WithAccessToken(Factory, laptop.AccessToken).GetAsync("/accounts/me"), HttpStatusCode.Unauthorized, "unauthorized");
    }

    [Fact]
    public async Task AnotherUsersSessionCannotBeRevoked()
    {
        var alice = await Users.SignUpAndInAsync(Factory);
        var bob = await Users.SignUpAndInAsync(Factory, "bob");

        var response = await alice.Client.DeleteAsync($"/accounts/me/sessions/{bob.SessionId}");
        await Http.AssertProblemAsync(response, HttpStatusCode.NotFound, "not_found");
        await Http.JsonAsync(await bob.Client.GetAsync("/accounts/me"), HttpStatusCode.OK);

        await using var db = await Db.OpenAsync(Fixture);
        Assert.Equal(0, await db.ExecuteScalarAsync<long>("select count(*) from user_sessions where revoked_at is not null"));
        Assert.Equal(0, await db.ExecuteScalarAsync<long>("select count(*) from account_logs where action = 'session_revoked'"));
    }

    [Fact]
    public async Task AnUnknownSessionIdIsNotFound()
    {
        var alice = await Users.SignUpAndInAsync(Factory);
        await Http.AssertProblemAsync(await alice.Client.DeleteAsync($"/accounts/me/sessions/{Guid.NewGuid()}"), HttpStatusCode.NotFound, "not_found");
    }

    [Fact]
    public async Task SessionsNeedASignedInUser()
    {
        await Http.AssertProblemAsync(await Users.Browser(Factory).GetAsync("/accounts/me/sessions"), HttpStatusCode.Unauthorized, "unauthorized");
    }
}
