using System.Net;
using AccountsApi.Tests.Infrastructure;

namespace AccountsApi.Tests.Auth;

public sealed class SharedRateLimitTests(ApiFixture fixture) : ApiTest(fixture)
{
    [Fact]
    public async Task WithRedisTwoInstancesShareOneLoginLimit()
    {
        await using var redis = await TestRedis.StartAsync();
        var settings = new Dictionary<string, string?>
        {
            ["RATE_LIMIT_ENABLED"] = "true", ["RATE_LIMIT_LOGIN_PER_MINUTE"] = "3", ["REDIS_URL"] = redis.Url,
        };
        await using var first = Factory.WithSettings(settings);
        await using var second = Factory.WithSettings(settings);
        var clients = new[] { Users.Browser(first), Users.Browser(second) };

        // 3 permits in all, spread over both instances: the 4th attempt is refused wherever it lands
        for (var i = 0; i < 3; i++)
            Assert.Equal(HttpStatusCode.Unauthorized, (await Users.PostLoginAsync(clients[i % 2], "nobody", "Whatever-123")).StatusCode);
        var refused = await Users.PostLoginAsync(clients[1], "nobody", "Whatever-123");
        await Http.AssertProblemAsync(refused, HttpStatusCode.TooManyRequests, "rate_limited");
        Assert.True(refused.Headers.RetryAfter?.Delta > TimeSpan.Zero);
    }

    [Fact]
    public async Task WhenRedisGoesAwaySignInsStillGetAnswersAndNever500()
    {
        var redis = await TestRedis.StartAsync();
        await using var app = Factory.WithSettings(new Dictionary<string, string?> { ["RATE_LIMIT_ENABLED"] = "true", ["REDIS_URL"] = redis.Url });
        var client = Users.Browser(app);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Users.PostLoginAsync(client, "nobody", "Whatever-123")).StatusCode);
        await redis.DisposeAsync();

        // at most a brief 503 while the loss is noticed; then the instance counts on its own
        var deadline = DateTime.UtcNow.AddSeconds(10);
        HttpStatusCode status;
        do
        {
            var response = await Users.PostLoginAsync(client, "nobody", "Whatever-123");
            status = response.StatusCode;
            Assert.NotEqual(HttpStatusCode.InternalServerError, status);
            if (status == HttpStatusCode.ServiceUnavailable) await Http.AssertProblemAsync(response, status, "rate_limiter_unavailable");
        } while (status != HttpStatusCode.Unauthorized && DateTime.UtcNow < deadline);
        Assert.Equal(HttpStatusCode.Unauthorized, status);
    }

    [Fact]
    public async Task WithoutRedisEachInstanceCountsOnItsOwn()
    {
        var settings = new Dictionary<string, string?> { ["RATE_LIMIT_ENABLED"] = "true", ["RATE_LIMIT_LOGIN_PER_MINUTE"] = "3" };
        await using var first = Factory.WithSettings(settings);
        await using var second = Factory.WithSettings(settings);
        var clients = new[] { Users.Browser(first), Users.Browser(second) };
        for (var i = 0; i < 4; i++)
            Assert.Equal(HttpStatusCode.Unauthorized, (await Users.PostLoginAsync(clients[i % 2], "nobody", "Whatever-123")).StatusCode);
    }
}
