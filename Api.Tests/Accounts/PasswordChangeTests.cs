using System.Net;
using System.Net.Http.Json;
using AccountsApi.Tests.Infrastructure;
using Dapper;

namespace AccountsApi.Tests.Accounts;

/// <summary>POST /accounts/me/password and its predecessor alias POST /accounts/reset-password.</summary>
public sealed class PasswordChangeTests(ApiFixture fixture) : ApiTest(fixture)
{
    public static TheoryData<string, string> Routes => new()
    {
        { "/accounts/me/password", "current_password" },
        { "/accounts/reset-password", "old_password" },
    };

    static Task<HttpResponseMessage> ChangeAsync(HttpClient client, string route, string currentField, string current, string next) =>
        client.PostAsync(route, JsonContent.Create(new Dictionary<string, object?> { [currentField] = current, ["new_password"] = next }));

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task ChangingThePasswordEndsEveryOtherSessionButKeepsThisOne(string route, string currentField)
    {
        var laptop = await Users.SignUpAndInAsync(Factory);
        var phone = await Users.SignInAsync(Factory, "alice");

        var response = await ChangeAsync(laptop.Client, route, currentField, Users.Password, Users.OtherPassword);
        var body = await Http.JsonAsync(response, HttpStatusCode.OK);
        Assert.False(string.IsNullOrWhiteSpace(body.GetProperty("message").GetString()));

        // the other device is signed out at once: its access token and its refresh token fail
        await Users.AssertSignedOutAsync(Factory, phone);

        // this device keeps working, and can refresh
        await Http.JsonAsync(await laptop.Client.GetAsync("/accounts/me"), HttpStatusCode.OK);
        await Http.JsonAsync(await laptop.Client.PostAsync("/auth/refresh", null), HttpStatusCode.OK);
        await Http.JsonAsync(await laptop.Client.GetAsync("/accounts/me"), HttpStatusCode.OK);

        // the new password signs in, the old one does not
        await Users.LoginAsync(Users.Browser(Factory), "alice", Users.OtherPassword);
        await Http.AssertProblemAsync(await Users.PostLoginAsync(Users.Browser(Factory), "alice", Users.Password), HttpStatusCode.Unauthorized, "invalid_credentials");

        await using var db = await Db.OpenAsync(Fixture);
        var logs = (await db.QueryAsync<(long? UserId, string? IpAddress, string? UserAgent, string? OldValue, string? NewValue)>(
            "select user_id, ip_address, user_agent, old_value, new_value from account_logs where action = 'password_changed'")).ToList();
        var log = Assert.Single(logs);
        Assert.Equal(laptop.UserId, log.UserId);
        Assert.False(string.IsNullOrEmpty(log.IpAddress));
        Assert.Equal(Users.UserAgent, log.UserAgent);
        var everything = await db.ExecuteScalarAsync<string>("select string_agg(coalesce(old_value, '') || '|' || coalesce(new_value, ''), ',') from account_logs");
        Assert.DoesNotContain(Users.Password, everything ?? "");
        Assert.DoesNotContain(Users.OtherPassword, everything ?? "");
        Assert.DoesNotContain("$2", everything ?? "");
    }

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task AWrongCurrentPasswordIsRefusedAndNothingChanges(string route, string currentField)
    {
        var laptop = await Users.SignUpAndInAsync(Factory);
        var phone = await Users.SignInAsync(Factory, "alice");
        await using var db = await Db.OpenAsync(Fixture);
        var hashBefore = await db.ExecuteScalarAsync<string>("select password_hash from users");

        var response = await ChangeAsync(laptop.Client, route, currentField, "Wrong-Guess-77", Users.OtherPassword);
        await Http.AssertProblemAsync(response, HttpStatusCode.Forbidden, "invalid_password");

        Assert.Equal(hashBefore, await db.ExecuteScalarAsync<string>("select password_hash from users"));
        await Http.JsonAsync(await phone.Client.GetAsync("/accounts/me"), HttpStatusCode.OK);
        await Http.JsonAsync(await laptop.Client.GetAsync("/accounts/me"), HttpStatusCode.OK);
        Assert.Equal(0, await db.ExecuteScalarAsync<long>("select count(*) from account_logs where action = 'password_changed'"));
    }

    [Theory]
    [InlineData("/accounts/me/password", "current_password", "short1A")]
    [InlineData("/accounts/me/password", "current_password", "nodigitsHere")]
    [InlineData("/accounts/me/password", "current_password", "Password1")]
    [InlineData("/accounts/reset-password", "old_password", "alllowercase1")]
    [InlineData("/accounts/reset-password", "old_password", "Password1")]
    public async Task AWeakNewPasswordIsRefused(string route, string currentField, string weak)
    {
        var alice = await Users.SignUpAndInAsync(Factory);
        var response = await ChangeAsync(alice.Client, route, currentField, Users.Password, weak);
        var problem = await Http.AssertProblemAsync(response, HttpStatusCode.BadRequest, "validation_failed");
        Assert.True(problem.GetProperty("errors").TryGetProperty("new_password", out _), $"no errors.new_password in {problem}");
        Assert.DoesNotContain(weak, problem.GetRawText());
        await Users.LoginAsync(Users.Browser(Factory), "alice", Users.Password);
    }

    [Fact]
    public async Task ChangingThePasswordNeedsASignedInUser()
    {
        await Users.RegisterAsync(Users.Browser(Factory));
        var response = await ChangeAsync(Users.Browser(Factory), "/accounts/me/password", "current_password", Users.Password, Users.OtherPassword);
        await Http.AssertProblemAsync(response, HttpStatusCode.Unauthorized, "unauthorized");
        await Users.LoginAsync(Users.Browser(Factory), "alice", Users.Password);
    }

    [Fact]
    public async Task TheNewPasswordIsHashedWithTheConfiguredScheme()
    {
        var alice = await Users.SignUpAndInAsync(Factory);
        await Http.JsonAsync(await ChangeAsync(alice.Client, "/accounts/me/password", "current_password", Users.Password, Users.OtherPassword), HttpStatusCode.OK);
        await using var db = await Db.OpenAsync(Fixture);
        var hash = await db.ExecuteScalarAsync<string>("select password_hash from users");
        Assert.DoesNotContain(Users.OtherPassword, hash!);
        Assert.Matches(@"\$2[abxy]\$04\$", hash!); // BCRYPT_WORK_FACTOR=4 in tests
    }
}
