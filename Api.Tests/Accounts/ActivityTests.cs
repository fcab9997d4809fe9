using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AccountsApi.Tests.Infrastructure;

namespace AccountsApi.Tests.Accounts;

/// <summary>GET /accounts/me/activity: the user's own audit log.</summary>
public sealed class ActivityTests(ApiFixture fixture) : ApiTest(fixture)
{
    [Fact]
    public async Task ActivityListsTheUsersEventsNewestFirst()
    {
        var alice = await Users.SignUpAndInAsync(Factory);
        await Users.SignUpAndInAsync(Factory, "bob");
        await Http.JsonAsync(await Users.PatchJsonAsync(alice.Client, "/accounts/me", new { lastname = "Pleasance" }), HttpStatusCode.OK);

        var body = await Http.JsonAsync(await alice.Client.GetAsync("/accounts/me/activity"), HttpStatusCode.OK);
        Assert.True(body.GetProperty("page").GetInt32() >= 0);
        Assert.True(body.GetProperty("page_size").GetInt32() > 0);
        var items = body.GetProperty("items").EnumerateArray().ToList();
        var actions = items.Select(i => i.GetProperty("action").GetString()).ToList();
        Assert.Equal(["updated", "login", "created"], actions);

        foreach (var item in items)
        {
            foreach (var field in new[] { "id", "action", "field", "old_value", "new_value", "ip_address", "user_agent", "created_at" })
                Assert.True(item.TryGetProperty(field, out _), $"no {field} in {item}");
            Assert.Equal(Users.UserAgent, item.GetProperty("user_agent").GetString());
            Assert.False(string.IsNullOrEmpty(item.GetProperty("ip_address").GetString()));
        }
        var times = items.Select(i => DateTimeOffset.Parse(i.GetProperty("created_at").GetString()!)).ToList();
        Assert.Equal(times.OrderByDescending(t => t), times);
        var ids = items.Select(i => i.GetProperty("id").GetInt64()).ToList();
        Assert.Equal(ids.OrderByDescending(i => i), ids);

        var updated = items[0];
        Assert.Equal("lastname", updated.GetProperty("field").GetString());
        Assert.Equal("Liddell", updated.GetProperty("old_value").GetString());
        Assert.Equal("Pleasance", updated.GetProperty("new_value").GetString());
    }

    [Fact]
    public async Task ActivityNeverShowsPasswords()
    {
        var alice = await Users.SignUpAndInAsync(Factory);
        await Users.PostLoginAsync(Users.Browser(Factory), "alice", "Typo-In-Password-1");
        await Http.JsonAsync(await alice.Client.PostAsync("/accounts/me/password",
            JsonContent.Create(new { current_password = Users.Password, new_password = Users.OtherPassword })), HttpStatusCode.OK);

        var response = await alice.Client.GetAsync("/accounts/me/activity");
        var text = await response.Content.ReadAsStringAsync();
        var body = await Http.JsonAsync(response, HttpStatusCode.OK);
        var actions = body.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("action").GetString()).ToList();
        Assert.Contains("password_changed", actions);
        Assert.Contains("login_failed", actions);
        Assert.Equal("password_changed", actions[0]);
        Assert.DoesNotContain(Users.Password, text);
        Assert.DoesNotContain(Users.OtherPassword, text);
        Assert.DoesNotContain("Typo-In-Password-1", text);
        Assert.DoesNotContain("$2", text);
        Assert.DoesNotContain("password_hash", text);
        foreach (var item in body.GetProperty("items").EnumerateArray()
                     .Where(i => i.GetProperty("field").ValueKind == JsonValueKind.String && i.GetProperty("field").GetString()!.Contains("password")))
        {
            var old = item.GetProperty("old_value");
            var @new = item.GetProperty("new_value");
            Assert.True(old.ValueKind == JsonValueKind.Null || !old.GetString()!.Contains("Pass"), $"password field shown: {item}");
            Assert.True(@new.ValueKind == JsonValueKind.Null || !@new.GetString()!.Contains("Otter"), $"password field shown: {item}");
        }
    }

    [Fact]
    public async Task ActivityNeedsASignedInUser()
    {
        await Users.RegisterAsync(Users.Browser(Factory));
        await Http.AssertProblemAsync(await Users.Browser(Factory).GetAsync("/accounts/me/activity"), HttpStatusCode.Unauthorized, "unauthorized");
    }
}
