using System.Net;
using AccountsApi.Tests.Infrastructure;
using Dapper;

namespace AccountsApi.Tests.Auth;

/// <summary>Per-IP limits on login and registration: each test starts its own app so counters start at zero.</summary>
public sealed class RateLimitTests(ApiFixture fixture) : ApiTest(fixture)
{
    ApiFactory Limited(Dictionary<string, string?>? extra = null)
    {
        var settings = new Dictionary<string, string?> { ["RATE_LIMIT_ENABLED"] = "true" };
        foreach (var (k, v) in extra ?? []) settings[k] = v;
        return Factory.WithSettings(settings);
    }

    static async Task AssertRateLimitedAsync(HttpResponseMessage response)
    {
        await Http.AssertProblemAsync(response, HttpStatusCode.TooManyRequests, "rate_limited");
        Assert.True(response.Headers.TryGetValues("Retry-After", out var values), "no Retry-After header");
        var retryAfter = Assert.Single(values);
        Assert.True(int.TryParse(retryAfter, out var seconds) && seconds > 0, $"Retry-After '{retryAfter}' is not a positive number of seconds");
    }

    [Fact]
    public async Task TheSixthLoginInAMinuteIsRateLimited()
    {
        await using var factory = Limited();
        await Users.RegisterAsync(Users.Browser(factory));
        for (var i = 0; i < 4; i++)
            await Http.AssertProblemAsync(await Users.PostLoginAsync(Users.Browser(factory), "nobody", Users.Password), HttpStatusCode.Unauthorized, "invalid_credentials");
        await Users.LoginAsync(Users.Browser(factory), "alice");

        var sixth = await Users.PostLoginAsync(Users.Browser(factory), "alice", Users.Password);
        await AssertRateLimitedAsync(sixth);
        Assert.Null(Cookies.Get(sixth, "access_token"));
        // the limit is on the address, not the account: a different account is limited too
        await AssertRateLimitedAsync(await Users.PostLoginAsync(Users.Browser(factory), "bob", Users.Password));
    }

    [Fact]
    public async Task TheFourthRegistrationInAnHourIsRateLimited()
    {
        await using var factory = Limited();
        for (var i = 0; i < 3; i++) await Users.RegisterAsync(Users.Browser(factory), $"user{i}");
        await AssertRateLimitedAsync(await Users.PostRegisterAsync(Users.Browser(factory), Users.RegisterBody("user3")));

        await using var db = await Db.OpenAsync(Fixture);
        Assert.Equal(3, await db.ExecuteScalarAsync<long>("select count(*) from users"));
    }

    [Fact]
    public async Task ForwardedForHeadersDoNotDodgeTheLoginLimit()
    {
        await using var factory = Limited();
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 6; i++)
        {
            var client = Users.Browser(factory);
            client.DefaultRequestHeaders.Add("X-Forwarded-For", $"203.0.113.{i + 1}");
            client.DefaultRequestHeaders.Add("X-Real-IP", $"198.51.100.{i + 1}");
            var response = await Users.PostLoginAsync(client, "nobody", Users.Password);
            statuses.Add(response.StatusCode);
            if (i == 5) await AssertRateLimitedAsync(response);
        }
        Assert.Equal(Enumerable.Repeat(HttpStatusCode.Unauthorized, 5), statuses.Take(5));
    }

    [Fact]
    public async Task RealIpHeadersDoNotDodgeTheRegisterLimit()
    {
        await using var factory = Limited();
        for (var i = 0; i < 4; i++)
        {
            var client = Users.Browser(factory);
            client.DefaultRequestHeaders.Add("X-Real-IP", $"198.51.100.{i + 1}");
            client.DefaultRequestHeaders.Add("X-Forwarded-For", $"203.0.113.{i + 1}, 10.0.0.{i + 1}");
            var response = await Users.PostRegisterAsync(client, Users.RegisterBody($"user{i}"));
            if (i < 3) await Http.JsonAsync(response, HttpStatusCode.Created);
            else await AssertRateLimitedAsync(response);
        }
    }

    [Fact]
    public async Task TheLoginLimitIsConfigurable()
    {
        await using var factory = Limited(new() { ["RATE_LIMIT_LOGIN_PER_MINUTE"] = "2" });
        for (var i = 0; i < 2; i++)
            Assert.Equal(HttpStatusCode.Unauthorized, (await Users.PostLoginAsync(Users.Browser(factory), "nobody", Users.Password)).StatusCode);
        await AssertRateLimitedAsync(await Users.PostLoginAsync(Users.Browser(factory), "nobody", Users.Password));
    }

    [Fact]
    public async Task TheRegisterLimitIsConfigurable()
    {
        await using var factory = Limited(new() { ["RATE_LIMIT_REGISTER_PER_HOUR"] = "1" });
        await Users.RegisterAsync(Users.Browser(factory), "first");
        await AssertRateLimitedAsync(await Users.PostRegisterAsync(Users.Browser(factory), Users.RegisterBody("second")));
    }

    [Fact]
    public async Task FormEncodedLoginsCountTowardsTheSameLimit()
    {
        await using var factory = Limited(new() { ["RATE_LIMIT_LOGIN_PER_MINUTE"] = "2" });
        for (var i = 0; i < 2; i++)
            Assert.Equal(HttpStatusCode.Unauthorized, (await Users.PostLoginAsync(Users.Browser(factory), "nobody", Users.Password)).StatusCode);
        var form = await Users.Browser(factory).PostAsync("/auth/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["username"] = "nobody",
            ["password"] = Users.Password,
        }));
        await AssertRateLimitedAsync(form);
    }

    [Fact]
    public async Task TheSixthPasswordChangeInAnHourIsRateLimited()
    {
        await using var factory = Limited();
        var alice = await Users.SignUpAndInAsync(factory);
        for (var i = 0; i < 5; i++)
            await Http.AssertProblemAsync(await alice.Client.PostAsync("/accounts/me/password",
                System.Net.Http.Json.JsonContent.Create(new { current_password = $"Wrong-Guess-{i}a", new_password = Users.OtherPassword })),
                HttpStatusCode.Forbidden, "invalid_password");
        var sixth = await alice.Client.PostAsync("/accounts/me/password",
            System.Net.Http.Json.JsonContent.Create(new { current_password = Users.Password, new_password = Users.OtherPassword }));
        await AssertRateLimitedAsync(sixth);
        // the sixth request never reached the handler: the password is unchanged
        await using var db = await Db.OpenAsync(Fixture);
        Assert.Equal(0, await db.ExecuteScalarAsync<long>("select count(*) from account_logs where action = 'password_changed'"));
    }

    [Fact]
    public async Task WithRateLimitsDisabledManyLoginsAreAnswered()
    {
        // the default test app has RATE_LIMIT_ENABLED=false
        for (var i = 0; i < 12; i++)
            await Http.AssertProblemAsync(await Users.PostLoginAsync(Users.Browser(Factory), "nobody", Users.Password),
                HttpStatusCode.Unauthorized, "invalid_credentials");
    }
}
