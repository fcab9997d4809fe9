using System.Net;
using System.Text.Json;
using AccountsApi.Tests.Infrastructure;
using Dapper;

namespace AccountsApi.Tests.Accounts;

/// <summary>GET, PATCH and DELETE /accounts/me.</summary>
public sealed class MeTests(ApiFixture fixture) : ApiTest(fixture)
{
    record LogRow(long? UserId, string Action, string? Field, string? OldValue, string? NewValue, string? IpAddress, string? UserAgent);

    async Task<List<LogRow>> LogsAsync(string action)
    {
        await using var db = await Db.OpenAsync(Fixture);
        return (await db.QueryAsync<LogRow>(
            "select user_id as UserId, action as Action, field as Field, old_value as OldValue, new_value as NewValue, ip_address as IpAddress, user_agent as UserAgent from account_logs where action = @action order by id",
            new { action })).ToList();
    }

    [Fact]
    public async Task MeReturnsTheSignedInAccount()
    {
        var alice = await Users.SignUpAndInAsync(Factory);
        var response = await alice.Client.GetAsync("/accounts/me");
        var text = await response.Content.ReadAsStringAsync();
        var me = await Http.JsonAsync(response, HttpStatusCode.OK);
        Assert.Equal(alice.UserId, me.GetProperty("id").GetInt64());
        Assert.Equal("alice", me.GetProperty("username").GetString());
        Assert.Equal("alice@example.com", me.GetProperty("email").GetString());
        Assert.Equal("Alice", me.GetProperty("firstname").GetString());
        Assert.Equal("Liddell", me.GetProperty("lastname").GetString());
        Assert.Equal("1990-04-01", me.GetProperty("date_of_birth").GetString());
        Assert.Equal("active", me.GetProperty("status").GetString());
        Assert.Equal("user", me.GetProperty("role").GetString());
        Assert.Equal(JsonValueKind.False, me.GetProperty("email_verified").ValueKind);
        Assert.Equal(JsonValueKind.String, me.GetProperty("last_login").ValueKind);
        Assert.True(DateTimeOffset.TryParse(me.GetProperty("created_at").GetString(), out _));
        Assert.True(DateTimeOffset.TryParse(me.GetProperty("updated_at").GetString(), out _));
        var names = me.EnumerateObject().Select(p => p.Name).ToHashSet();
        foreach (var expected in new[] { "id", "username", "email", "firstname", "lastname", "date_of_birth", "status", "role", "email_verified", "created_at", "updated_at", "last_login" })
            Assert.Contains(expected, names);
        Assert.All(names, n => Assert.Equal(n.ToLowerInvariant(), n)); // snake_case
        Assert.DoesNotContain("password", text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("hash", text, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task MeWithoutACookieIsUnauthorized()
    {
        await Users.RegisterAsync(Users.Browser(Factory));
        await Http.AssertProblemAsync(await Users.Browser(Factory).GetAsync("/accounts/me"), HttpStatusCode.Unauthorized, "unauthorized");
    }

    [Fact]
    public async Task MeShowsEachUserOnlyTheirOwnAccount()
    {
        var alice = await Users.SignUpAndInAsync(Factory);
        var bob = await Users.SignUpAndInAsync(Factory, "bob");
        Assert.Equal("alice", (await Http.JsonAsync(await alice.Client.GetAsync("/accounts/me"), HttpStatusCode.OK)).GetProperty("username").GetString());
        Assert.Equal("bob", (await Http.JsonAsync(await bob.Client.GetAsync("/accounts/me"), HttpStatusCode.OK)).GetProperty("username").GetString());
    }

    [Fact]
    public async Task PatchUpdatesTheGivenFieldsAndLogsEachChange()
    {
        var alice = await Users.SignUpAndInAsync(Factory);
        var response = await Users.PatchJsonAsync(alice.Client, "/accounts/me", new Dictionary<string, object?>
        {
            ["username"] = "alice_l",
            ["firstname"] = "Alicia \"Al\" 🐇",
            ["date_of_birth"] = "1991-05-06",
        });
        var account = await Http.JsonAsync(response, HttpStatusCode.OK);
        Assert.Equal("alice_l", account.GetProperty("username").GetString());
        Assert.Equal("Alicia \"Al\" 🐇", account.GetProperty("firstname").GetString());
        Assert.Equal("Liddell", account.GetProperty("lastname").GetString()); // untouched
        Assert.Equal("1991-05-06", account.GetProperty("date_of_birth").GetString());

        var me = await Http.JsonAsync(await alice.Client.GetAsync("/accounts/me"), HttpStatusCode.OK);
        Assert.Equal("alice_l", me.GetProperty("username").GetString());
        Assert.Equal("Liddell", me.GetProperty("lastname").GetString());

        var updates = await LogsAsync("updated");
        Assert.Equal(3, updates.Count);
        Assert.All(updates, u =>
        {
            Assert.Equal(alice.UserId, u.UserId);
            Assert.False(string.IsNullOrEmpty(u.IpAddress));
            Assert.Equal(Users.UserAgent, u.UserAgent);
        });
        var byField = updates.ToDictionary(u => u.Field!);
        Assert.Equal(("alice", "alice_l"), (byField["username"].OldValue, byField["username"].NewValue));
        Assert.Equal(("Alice", "Alicia \"Al\" 🐇"), (byField["firstname"].OldValue, byField["firstname"].NewValue));
        Assert.Equal("1990-04-01", byField["date_of_birth"].OldValue);
        Assert.Equal("1991-05-06", byField["date_of_birth"].NewValue);

        // the new username signs in, the old one no longer does
        await Users.LoginAsync(Users.Browser(Factory), "alice_l");
        await Http.AssertProblemAsync(await Users.PostLoginAsync(Users.Browser(Factory), "alice", Users.Password), HttpStatusCode.Unauthorized, "invalid_credentials");
    }

    [Theory]
    [InlineData("username", "x")]
    [InlineData("username", "has space")]
    [InlineData("firstname", "")]
    [InlineData("firstname", "Ali\nce")]
    [InlineData("lastname", "Lid\0dell")]
    [InlineData("date_of_birth", "2999-01-01")]
    public async Task PatchWithAnInvalidValueChangesNothing(string field, string value)
    {
        var alice = await Users.SignUpAndInAsync(Factory);
        var response = await Users.PatchJsonAsync(alice.Client, "/accounts/me", new Dictionary<string, object?>
        {
            ["firstname"] = "Changed", // valid on its own, but the request as a whole is refused
            [field] = value,
        });
        var problem = await Http.AssertProblemAsync(response, HttpStatusCode.BadRequest, "validation_failed");
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"no errors.{field} in {problem}");

        var me = await Http.JsonAsync(await alice.Client.GetAsync("/accounts/me"), HttpStatusCode.OK);
        Assert.Equal("alice", me.GetProperty("username").GetString());
        Assert.Equal("Alice", me.GetProperty("firstname").GetString());
        Assert.Equal("Liddell", me.GetProperty("lastname").GetString());
        Assert.Equal("1990-04-01", me.GetProperty("date_of_birth").GetString());
        Assert.Empty(await LogsAsync("updated"));
    }

    [Fact]
    public async Task PatchToAnotherUsersUsernameIsAConflict()
    {
        await Users.RegisterAsync(Users.Browser(Factory), "bob");
        var alice = await Users.SignUpAndInAsync(Factory);
        var response = await Users.PatchJsonAsync(alice.Client, "/accounts/me", new { username = "BOB", firstname = "Changed" });
        await Http.AssertProblemAsync(response, HttpStatusCode.Conflict, "username_taken");
        var me = await Http.JsonAsync(await alice.Client.GetAsync("/accounts/me"), HttpStatusCode.OK);
        Assert.Equal("alice", me.GetProperty("username").GetString());
        Assert.Equal("Alice", me.GetProperty("firstname").GetString());
        Assert.Empty(await LogsAsync("updated"));
    }

    [Fact]
    public async Task PatchMayChangeTheCaseOfYourOwnUsername()
    {
        var alice = await Users.SignUpAndInAsync(Factory);
        var account = await Http.JsonAsync(await Users.PatchJsonAsync(alice.Client, "/accounts/me", new { username = "Alice" }), HttpStatusCode.OK);
        Assert.Equal("Alice", account.GetProperty("username").GetString());
    }

    [Fact]
    public async Task PatchWithoutACookieIsUnauthorized()
    {
        await Users.RegisterAsync(Users.Browser(Factory));
        await Http.AssertProblemAsync(await Users.PatchJsonAsync(Users.Browser(Factory), "/accounts/me", new { firstname = "X" }), HttpStatusCode.Unauthorized, "unauthorized");
        await using var db = await Db.OpenAsync(Fixture);
        Assert.Equal("Alice", await db.ExecuteScalarAsync<string>("select firstname from users"));
    }

    [Fact]
    public async Task DeletingTheAccountNeedsThePassword()
    {
        var alice = await Users.SignUpAndInAsync(Factory);
        var response = await Users.DeleteWithJsonAsync(alice.Client, "/accounts/me", new { password = Users.OtherPassword });
        await Http.AssertProblemAsync(response, HttpStatusCode.Forbidden, "invalid_password");
        await Http.JsonAsync(await alice.Client.GetAsync("/accounts/me"), HttpStatusCode.OK);
        await using var db = await Db.OpenAsync(Fixture);
        Assert.Equal(1, await db.ExecuteScalarAsync<long>("select count(*) from users"));
        Assert.Empty(await LogsAsync("deleted"));
    }

    [Fact]
    public async Task DeletingTheAccountRemovesTheUserButKeepsTheAuditTrail()
    {
        var alice = await Users.SignUpAndInAsync(Factory);
        var other = await Users.SignInAsync(Factory, "alice");
        var bob = await Users.SignUpAndInAsync(Factory, "bob");

        var response = await Users.DeleteWithJsonAsync(alice.Client, "/accounts/me", new { password = Users.Password });
        var body = await Http.JsonAsync(response, HttpStatusCode.OK);
        Assert.False(string.IsNullOrWhiteSpace(body.GetProperty("message").GetString()));

        await using var db = await Db.OpenAsync(Fixture);
        Assert.Equal(0, await db.ExecuteScalarAsync<long>("select count(*) from users where id = @UserId", new { alice.UserId }));
        Assert.Equal(0, await db.ExecuteScalarAsync<long>("select count(*) from user_sessions where user_id = @UserId and revoked_at is null", new { alice.UserId }));
        var actions = (await db.QueryAsync<string>("select action from account_logs where user_id = @UserId", new { alice.UserId })).ToList();
        Assert.Contains("created", actions);
        Assert.Contains("login", actions);
        var deleted = Assert.Single(await LogsAsync("deleted"));
        Assert.Equal(alice.UserId, deleted.UserId);
        Assert.False(string.IsNullOrEmpty(deleted.IpAddress));
        Assert.Equal(Users.UserAgent, deleted.UserAgent);

        // every token of the account is dead, the other user is untouched
        await Http.AssertProblemAsync(await Users.WithAccessToken(Factory, alice.AccessToken).GetAsync("/accounts/me"), HttpStatusCode.Unauthorized, "unauthorized");
        await Http.AssertProblemAsync(await Users.WithAccessToken(Factory, other.AccessToken).GetAsync("/accounts/me"), HttpStatusCode.Unauthorized, "unauthorized");
        await Http.AssertProblemAsync(await Users.WithAccessToken(Factory, alice.AccessToken).GetAsync("/auth/session"), HttpStatusCode.Unauthorized, "unauthorized");
        await Http.AssertProblemAsync(await Users.PostLoginAsync(Users.Browser(Factory), "alice", Users.Password), HttpStatusCode.Unauthorized, "invalid_credentials");
        await Http.JsonAsync(await bob.Client.GetAsync("/accounts/me"), HttpStatusCode.OK);

        // the name and address are free again
        await Users.RegisterAsync(Users.Browser(Factory), "alice");
    }
}
