using System.Net;
using System.Net.Http.Json;
using AccountsApi.Tests.Infrastructure;
using Dapper;

namespace AccountsApi.Tests.Auth;

/// <summary>
/// Over real Kestrel (the test server has no client address), so the peer is 127.0.0.1 as it would be
/// behind a local reverse proxy.
/// </summary>
public sealed class TrustedProxyTests(ApiFixture fixture) : ApiTest(fixture)
{
    (ApiFactory App, HttpClient Client) Start(Dictionary<string, string?> settings)
    {
        settings["urls"] = "http://127.0.0.1:0";
        var app = Factory.WithSettings(settings);
        app.UseKestrel(0);
        app.StartServer();
        var client = app.CreateClient();
        client.DefaultRequestHeaders.Add("Origin", ApiFactory.SiteOrigin);
        return (app, client);
    }

    async Task<string?> CreatedFromAsync(string username)
    {
        await using var db = await Db.OpenAsync(Fixture);
        return await db.QuerySingleOrDefaultAsync<string>(
            "select l.ip_address from account_logs l where l.action = 'created' and l.user_id = (select id from users where username = @username)",
            new { username });
    }

    static HttpRequestMessage Register(string username, string forwardedFor) => new(HttpMethod.Post, "/accounts/register")
    {
        Content = JsonContent.Create(Users.RegisterBody(username)),
        Headers = { { "X-Forwarded-For", forwardedFor }, { "X-Real-IP", "198.51.100.99" } },
    };

    [Fact]
    public async Task AConfiguredProxySaysWhoTheClientIs()
    {
        var (app, client) = Start(new() { ["TRUSTED_PROXIES"] = "127.0.0.1" });
        await using var _ = app;
        Assert.Equal(HttpStatusCode.Created, (await client.SendAsync(Register("viaproxy", "203.0.113.9"))).StatusCode);
        Assert.Equal("203.0.113.9", await CreatedFromAsync("viaproxy"));
    }

    [Fact]
    public async Task ForwardedHeadersFromAnyoneElseAreIgnored()
    {
        foreach (var (proxies, username) in new[] { ("", "noproxy"), ("10.0.0.1,192.168.0.0/16", "otherproxy") })
        {
            var (app, client) = Start(new() { ["TRUSTED_PROXIES"] = proxies });
            await using var _ = app;
            Assert.Equal(HttpStatusCode.Created, (await client.SendAsync(Register(username, "203.0.113.9"))).StatusCode);
            Assert.Equal("127.0.0.1", await CreatedFromAsync(username));
        }
    }

    [Fact]
    public async Task BehindATrustedProxyEachClientHasItsOwnRateLimit()
    {
        var (app, client) = Start(new()
        {
            ["TRUSTED_PROXIES"] = "127.0.0.1", ["RATE_LIMIT_ENABLED"] = "true", ["RATE_LIMIT_LOGIN_PER_MINUTE"] = "2",
        });
        await using var _ = app;
        HttpRequestMessage Login(string from) => new(HttpMethod.Post, "/auth/login")
        {
            Content = JsonContent.Create(new { login = "nobody", password = "Whatever-123" }),
            Headers = { { "X-Forwarded-For", from } },
        };
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.SendAsync(Login("203.0.113.1"))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.SendAsync(Login("203.0.113.1"))).StatusCode);
        await Http.AssertProblemAsync(await client.SendAsync(Login("203.0.113.1")), HttpStatusCode.TooManyRequests, "rate_limited");
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.SendAsync(Login("203.0.113.2"))).StatusCode);
    }
}
