using System.Net;
using AccountsApi.Tests.Infrastructure;
using Dapper;

namespace AccountsApi.Tests.Auth;

/// <summary>CSRF origin guard on state-changing requests, and CORS for the site's origins.</summary>
public sealed class OriginTests(ApiFixture fixture) : ApiTest(fixture)
{
    async Task<long> UserCountAsync()
    {
        await using var db = await Db.OpenAsync(Fixture);
        return await db.ExecuteScalarAsync<long>("select count(*) from users");
    }

    [Fact]
    public async Task AStateChangingRequestWithoutOriginOrRefererIsRefused()
    {
        var response = await Users.PostRegisterAsync(Users.Raw(Factory, origin: null), Users.RegisterBody());
        await Http.AssertProblemAsync(response, HttpStatusCode.Forbidden, "origin_not_allowed");
        Assert.Equal(0, await UserCountAsync());
    }

    [Theory]
    [InlineData("https://evil.example")]
    [InlineData("http://localhost:4001")]
    [InlineData("http://localhost:4000.evil.example")]
    [InlineData("https://localhost:4000")]
    [InlineData("null")]
    public async Task AStateChangingRequestFromAForeignOriginIsRefused(string origin)
    {
        var response = await Users.PostRegisterAsync(Users.Raw(Factory, origin), Users.RegisterBody());
        await Http.AssertProblemAsync(response, HttpStatusCode.Forbidden, "origin_not_allowed");
        Assert.Equal(0, await UserCountAsync());
    }

    [Fact]
    public async Task AForeignOriginCannotSignInEvenWithTheRightPassword()
    {
        await Users.RegisterAsync(Users.Browser(Factory));
        var response = await Users.PostLoginAsync(Users.Raw(Factory, "https://evil.example"), "alice", Users.Password);
        await Http.AssertProblemAsync(response, HttpStatusCode.Forbidden, "origin_not_allowed");
        Assert.Null(Cookies.Get(response, "access_token"));
    }

    [Fact]
    public async Task AnAllowedRefererIsAcceptedWhenOriginIsAbsent()
    {
        var client = Users.Raw(Factory, origin: null);
        client.DefaultRequestHeaders.Referrer = new Uri("http://localhost:4000/account/register/");
        await Http.JsonAsync(await Users.PostRegisterAsync(client, Users.RegisterBody()), HttpStatusCode.Created);
        Assert.Equal(1, await UserCountAsync());
    }

    [Fact]
    public async Task AForeignRefererIsRefusedWhenOriginIsAbsent()
    {
        var client = Users.Raw(Factory, origin: null);
        client.DefaultRequestHeaders.Referrer = new Uri("https://evil.example/localhost:4000/");
        await Http.AssertProblemAsync(await Users.PostRegisterAsync(client, Users.RegisterBody()), HttpStatusCode.Forbidden, "origin_not_allowed");
        Assert.Equal(0, await UserCountAsync());
    }

    [Theory]
    [InlineData("http://localhost:3000")]
    [InlineData("http://localhost:4000")]
    [InlineData("http://localhost:8001")]
    [InlineData("http://127.0.0.1:3000")]
    [InlineData("http://127.0.0.1:4000")]
    [InlineData("http://127.0.0.1:8001")]
    public async Task EachDefaultSiteOriginIsAllowed(string origin)
    {
        await Http.JsonAsync(await Users.PostRegisterAsync(Users.Raw(Factory, origin), Users.RegisterBody()), HttpStatusCode.Created);
    }

    [Fact]
    public async Task AllowedOriginsAreConfigurable()
    {
        await using var factory = Factory.WithSettings(new Dictionary<string, string?> { ["ALLOWED_ORIGINS"] = "https://kevsrobots.example" });
        await Http.AssertProblemAsync(await Users.PostRegisterAsync(Users.Raw(factory, ApiFactory.SiteOrigin), Users.RegisterBody("first")),
            HttpStatusCode.Forbidden, "origin_not_allowed");
        await Http.JsonAsync(await Users.PostRegisterAsync(Users.Raw(factory, "https://kevsrobots.example"), Users.RegisterBody("second")), HttpStatusCode.Created);
    }

    [Fact]
    public async Task GetRequestsNeedNoOrigin()
    {
        var alice = await Users.SignUpAndInAsync(Factory);
        var client = Users.Raw(Factory, origin: null);
        client.DefaultRequestHeaders.Add("Cookie", $"access_token={alice.AccessToken}");
        var me = await Http.JsonAsync(await client.GetAsync("/accounts/me"), HttpStatusCode.OK);
        Assert.Equal("alice", me.GetProperty("username").GetString());
    }

    [Fact]
    public async Task StateChangingAccountRequestsFromAForeignOriginChangeNothing()
    {
        var alice = await Users.SignUpAndInAsync(Factory);
        var evil = Users.Raw(Factory, "https://evil.example");
        evil.DefaultRequestHeaders.Add("Cookie", $"access_token={alice.AccessToken}");

        await Http.AssertProblemAsync(await Users.PatchJsonAsync(evil, "/accounts/me", new { firstname = "Hacked" }), HttpStatusCode.Forbidden, "origin_not_allowed");
        await Http.AssertProblemAsync(await Users.DeleteWithJsonAsync(evil, "/accounts/me", new { password = Users.Password }), HttpStatusCode.Forbidden, "origin_not_allowed");
        await Http.AssertProblemAsync(await evil.PostAsync("/accounts/me/password", System.Net.Http.Json.JsonContent.Create(new { current_password = Users.Password, new_password = Users.OtherPassword })),
            HttpStatusCode.Forbidden, "origin_not_allowed");
        await Http.AssertProblemAsync(await evil.DeleteAsync($"/accounts/me/sessions/{alice.SessionId}"), HttpStatusCode.Forbidden, "origin_not_allowed");

        var me = await Http.JsonAsync(await alice.Client.GetAsync("/accounts/me"), HttpStatusCode.OK);
        Assert.Equal("Alice", me.GetProperty("firstname").GetString());
        await Users.LoginAsync(Users.Browser(Factory), "alice", Users.Password);
    }

    [Fact]
    public async Task APreflightFromTheSiteIsAllowedWithCredentials()
    {
        var request = new HttpRequestMessage(HttpMethod.Options, "/auth/login");
        request.Headers.Add("Origin", ApiFactory.SiteOrigin);
        request.Headers.Add("Access-Control-Request-Method", "POST");
        request.Headers.Add("Access-Control-Request-Headers", "content-type");
        var response = await Factory.CreateClient().SendAsync(request);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(ApiFactory.SiteOrigin, Assert.Single(response.Headers.GetValues("Access-Control-Allow-Origin")));
        Assert.Equal("true", Assert.Single(response.Headers.GetValues("Access-Control-Allow-Credentials")));
        Assert.True(response.Headers.TryGetValues("Access-Control-Max-Age", out var maxAge));
        Assert.True(int.Parse(Assert.Single(maxAge)) > 0);
        Assert.Contains("POST", string.Join(",", response.Headers.GetValues("Access-Control-Allow-Methods")), StringComparison.OrdinalIgnoreCase);
        Assert.Contains("content-type", string.Join(",", response.Headers.GetValues("Access-Control-Allow-Headers")), StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("https://evil.example")]
    [InlineData("http://localhost:4001")]
    public async Task APreflightFromAForeignOriginGetsNoAllowOrigin(string origin)
    {
        var request = new HttpRequestMessage(HttpMethod.Options, "/auth/login");
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", "POST");
        request.Headers.Add("Access-Control-Request-Headers", "content-type");
        var response = await Factory.CreateClient().SendAsync(request);
        Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
        Assert.False(response.Headers.Contains("Access-Control-Allow-Credentials"));
    }

    [Fact]
    public async Task ACrossOriginResponseToTheSiteCarriesCorsHeaders()
    {
        await Users.RegisterAsync(Users.Browser(Factory));
        var response = await Users.PostLoginAsync(Users.Browser(Factory), "alice", Users.Password);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(ApiFactory.SiteOrigin, Assert.Single(response.Headers.GetValues("Access-Control-Allow-Origin")));
        Assert.Equal("true", Assert.Single(response.Headers.GetValues("Access-Control-Allow-Credentials")));

        var evil = await Users.Raw(Factory, "https://evil.example").GetAsync("/health");
        Assert.False(evil.Headers.Contains("Access-Control-Allow-Origin"));
    }
}
