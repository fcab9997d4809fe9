using System.Net;
using System.Text.Json;
using AccountsApi.Tests.Infrastructure;
using Dapper;
using Microsoft.Net.Http.Headers;

namespace AccountsApi.Tests.Auth;

public sealed class LoginTests(ApiFixture fixture) : ApiTest(fixture)
{
    async Task<T> ScalarAsync<T>(string sql, object? args = null)
    {
        await using var db = await Db.OpenAsync(Fixture);
        return (await db.ExecuteScalarAsync<T>(sql, args))!;
    }

    async Task ExecuteAsync(string sql, object? args = null)
    {
        await using var db = await Db.OpenAsync(Fixture);
        await db.ExecuteAsync(sql, args);
    }

    [Fact]
    public async Task LoginWithUsernameReturnsTheAccountAndSetsBothCookies()
    {
        var registered = await Users.RegisterAsync(Users.Browser(Factory));
        var response = await Users.LoginAsync(Users.Browser(Factory), "alice");
        var text = await response.Content.ReadAsStringAsync();
        var account = JsonDocument.Parse(text).RootElement;

        Assert.Equal(registered.GetProperty("id").GetInt64(), account.GetProperty("id").GetInt64());
        Assert.Equal("alice", account.GetProperty("username").GetString());
        Assert.False(account.TryGetProperty("access_token", out _));
        Assert.DoesNotContain("access_token", text);
        Assert.DoesNotContain(Users.Password, text);
        Assert.DoesNotContain("password", text, StringComparison.OrdinalIgnoreCase);

        var access = Cookies.Header(response, "access_token");
        Assert.NotNull(access);
        Assert.False(string.IsNullOrEmpty(access.Value.Value));
        Assert.Equal(3, access.Value.Value!.Split('.').Length);
        Assert.True(access.HttpOnly);
        Assert.Equal(SameSiteMode.Lax, access.SameSite);
        Assert.Equal("/", access.Path.Value);
        Assert.False(access.Secure); // tests run in Development

        var refresh = Cookies.Header(response, "refresh_token");
        Assert.NotNull(refresh);
        Assert.False(string.IsNullOrEmpty(refresh.Value.Value));
        Assert.NotEqual(access.Value.Value, refresh.Value.Value);
        Assert.True(refresh.HttpOnly);
        Assert.Equal(SameSiteMode.Lax, refresh.SameSite);
        Assert.Equal("/auth", refresh.Path.Value);
        Assert.False(refresh.Secure);

        var client = Users.WithAccessToken(Factory, access.Value.Value!);
        var me = await Http.JsonAsync(await client.GetAsync("/accounts/me"), HttpStatusCode.OK);
        var lastLogin = DateTimeOffset.Parse(me.GetProperty("last_login").GetString()!);
        Assert.True(Math.Abs((DateTimeOffset.UtcNow - lastLogin).TotalMinutes) < 5, $"last_login {lastLogin}");
    }

    [Fact]
    public async Task CookiesAreSecureOutsideDevelopment()
    {
        await using var production = Factory.WithSettings(new Dictionary<string, string?> { ["ENVIRONMENT"] = "Production" });
        await Users.RegisterAsync(Users.Browser(production));
        var response = await Users.LoginAsync(Users.Browser(production), "alice");
        Assert.True(Cookies.Header(response, "access_token")!.Secure);
        Assert.True(Cookies.Header(response, "refresh_token")!.Secure);
    }

    [Fact]
    public async Task LoginWithEmailWorksAndTheCookieOpensAccountsMe()
    {
        await Users.RegisterAsync(Users.Browser(Factory));
        var client = Users.Browser(Factory);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/accounts/me")).StatusCode);
        await Users.LoginAsync(client, "alice@example.com");
        var me = await Http.JsonAsync(await client.GetAsync("/accounts/me"), HttpStatusCode.OK);
        Assert.Equal("alice", me.GetProperty("username").GetString());
    }

    [Fact]
    public async Task FormEncodedLoginWithUsernameAndPasswordWorks()
    {
        await Users.RegisterAsync(Users.Browser(Factory));
        var client = Users.Browser(Factory);
        var response = await client.PostAsync("/auth/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["username"] = "alice",
            ["password"] = Users.Password,
        }));
        var account = await Http.JsonAsync(response, HttpStatusCode.OK);
        Assert.Equal("alice", account.GetProperty("username").GetString());
        Assert.NotNull(Cookies.Get(response, "access_token"));
        Assert.NotNull(Cookies.Get(response, "refresh_token"));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/accounts/me")).StatusCode);

        var wrong = await Users.Browser(Factory).PostAsync("/auth/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["username"] = "alice",
            ["password"] = Users.OtherPassword,
        }));
        await Http.AssertProblemAsync(wrong, HttpStatusCode.Unauthorized, "invalid_credentials");
    }

    [Fact]
    public async Task LoginRecordsASessionWithUserAgentAndIp()
    {
        var account = await Users.RegisterAsync(Users.Browser(Factory));
        var signedIn = await Users.SignInAsync(Factory, "alice");

        await using var db = await Db.OpenAsync(Fixture);
        var session = await db.QuerySingleAsync<(Guid Id, long UserId, string? UserAgent, string? IpAddress, DateTime CreatedAt, DateTime LastSeenAt, DateTime ExpiresAt, DateTime? RevokedAt)>(
            "select id, user_id, user_agent, ip_address, created_at, last_seen_at, expires_at, revoked_at from user_sessions");
        Assert.Equal(account.GetProperty("id").GetInt64(), session.UserId);
        Assert.Equal(Users.UserAgent, session.UserAgent);
        Assert.False(string.IsNullOrEmpty(session.IpAddress));
        Assert.Null(session.RevokedAt);
        Assert.True(session.ExpiresAt > DateTime.UtcNow.AddDays(1));
        Assert.Equal(session.Id.ToString(), signedIn.SessionId);
        Assert.Equal(1, await db.ExecuteScalarAsync<long>("select count(*) from refresh_tokens where session_id = @Id", new { session.Id }));
        Assert.Equal(1, await db.ExecuteScalarAsync<long>("select count(*) from users where last_login_at is not null"));
    }

    [Fact]
    public async Task EveryFailedLoginLooksTheSame()
    {
        await Users.RegisterAsync(Users.Browser(Factory), "alice");
        await Users.RegisterAsync(Users.Browser(Factory), "locked1");
        await Users.RegisterAsync(Users.Browser(Factory), "locked2");
        await Users.RegisterAsync(Users.Browser(Factory), "sleepy");
        await ExecuteAsync("update users set locked_until = now() + interval '5 minutes' where username = 'locked1'");
        await ExecuteAsync("update users set status = 'locked' where username = 'locked2'");
        await ExecuteAsync("update users set status = 'inactive' where username = 'sleepy'");

        var attempts = new (string Login, string Password)[]
        {
            ("nobody", Users.Password),             // unknown user
            ("nobody@example.com", Users.Password), // unknown email
            ("alice", Users.OtherPassword),         // wrong password
            ("locked1", Users.Password),            // locked by time, right password
            ("locked2", Users.Password),            // status locked, right password
            ("sleepy", Users.Password),             // inactive, right password
        };
        var bodies = new List<(string Attempt, JsonElement Body)>();
        foreach (var (login, password) in attempts)
        {
            var response = await Users.PostLoginAsync(Users.Browser(Factory), login, password);
            var body = await Http.AssertProblemAsync(response, HttpStatusCode.Unauthorized, "invalid_credentials");
            Assert.Null(Cookies.Get(response, "access_token"));
            Assert.Null(Cookies.Get(response, "refresh_token"));
            bodies.Add((login, body));
        }

        var first = bodies[0].Body;
        foreach (var (attempt, body) in bodies)
            foreach (var property in new[] { "code", "title", "detail", "status" })
                Assert.True(first.GetProperty(property).ToString() == body.GetProperty(property).ToString(),
                    $"{property} differs for {attempt}: '{body.GetProperty(property)}' vs '{first.GetProperty(property)}'");

        Assert.Equal(0, await ScalarAsync<long>("select count(*) from user_sessions"));
    }

    [Fact]
    public async Task LoginIsRefusedAfterFiveWrongPasswords()
    {
        var account = await Users.RegisterAsync(Users.Browser(Factory));
        var id = account.GetProperty("id").GetInt64();
        for (var i = 0; i < 5; i++)
            await Http.AssertProblemAsync(await Users.PostLoginAsync(Users.Browser(Factory), "alice", Users.OtherPassword),
                HttpStatusCode.Unauthorized, "invalid_credentials");

        var lockedUntil = await ScalarAsync<DateTime?>("select locked_until from users where id = @id", new { id });
        Assert.NotNull(lockedUntil);
        var remaining = lockedUntil.Value.ToUniversalTime() - DateTime.UtcNow;
        Assert.InRange(remaining.TotalMinutes, 4, 5.5);
        Assert.Equal(1, await ScalarAsync<long>("select count(*) from account_logs where user_id = @id and action = 'locked'", new { id }));
        Assert.Equal(5, await ScalarAsync<long>("select count(*) from account_logs where user_id = @id and action = 'login_failed'", new { id }));

        // the right password no longer helps, and the answer is the same as for a wrong one
        var right = await Users.PostLoginAsync(Users.Browser(Factory), "alice", Users.Password);
        await Http.AssertProblemAsync(right, HttpStatusCode.Unauthorized, "invalid_credentials");
        Assert.Null(Cookies.Get(right, "access_token"));
        Assert.Equal(0, await ScalarAsync<long>("select count(*) from user_sessions"));
    }

    [Fact]
    public async Task ALockedAccountCanSignInAgainOnceTheLockHasExpired()
    {
        await Users.RegisterAsync(Users.Browser(Factory));
        for (var i = 0; i < 5; i++) await Users.PostLoginAsync(Users.Browser(Factory), "alice", Users.OtherPassword);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Users.PostLoginAsync(Users.Browser(Factory), "alice", Users.Password)).StatusCode);

        await ExecuteAsync("update users set locked_until = now() - interval '1 second'");
        await Users.LoginAsync(Users.Browser(Factory), "alice");
        Assert.Equal(0, await ScalarAsync<int>("select failed_login_count from users"));
    }

    [Fact]
    public async Task ASecondLockInARowLastsLonger()
    {
        await Users.RegisterAsync(Users.Browser(Factory));
        for (var i = 0; i < 5; i++) await Users.PostLoginAsync(Users.Browser(Factory), "alice", Users.OtherPassword);
        var first = (await ScalarAsync<DateTime>("select locked_until from users")).ToUniversalTime() - DateTime.UtcNow;

        await ExecuteAsync("update users set locked_until = now() - interval '1 second'");
        for (var i = 0; i < 5; i++) await Users.PostLoginAsync(Users.Browser(Factory), "alice", Users.OtherPassword);
        var second = (await ScalarAsync<DateTime>("select locked_until from users")).ToUniversalTime() - DateTime.UtcNow;

        Assert.True(second > first + TimeSpan.FromMinutes(2), $"first lock {first}, second {second}");
        Assert.Equal(2, await ScalarAsync<long>("select count(*) from account_logs where action = 'locked'"));
    }

    [Fact]
    public async Task ASuccessfulLoginResetsTheFailedLoginCount()
    {
        await Users.RegisterAsync(Users.Browser(Factory));
        for (var i = 0; i < 4; i++)
            await Http.AssertProblemAsync(await Users.PostLoginAsync(Users.Browser(Factory), "alice", Users.OtherPassword),
                HttpStatusCode.Unauthorized, "invalid_credentials");
        Assert.Equal(4, await ScalarAsync<int>("select failed_login_count from users"));

        await Users.LoginAsync(Users.Browser(Factory), "alice");
        Assert.Equal(0, await ScalarAsync<int>("select failed_login_count from users"));
        Assert.Null(await ScalarAsync<DateTime?>("select locked_until from users"));

        // the count starts over: four more failures do not lock
        for (var i = 0; i < 4; i++) await Users.PostLoginAsync(Users.Browser(Factory), "alice", Users.OtherPassword);
        await Users.LoginAsync(Users.Browser(Factory), "alice");
        Assert.Equal(0, await ScalarAsync<long>("select count(*) from account_logs where action = 'locked'"));
    }

    [Fact]
    public async Task TwentyConcurrentWrongPasswordsLockTheAccountExactlyOnce()
    {
        await Users.RegisterAsync(Users.Browser(Factory));
        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ =>
            Users.PostLoginAsync(Users.Browser(Factory), "alice", Users.OtherPassword)));
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode));

        Assert.NotNull(await ScalarAsync<DateTime?>("select locked_until from users"));
        Assert.Equal(1, await ScalarAsync<long>("select count(*) from account_logs where action = 'locked'"));
        Assert.InRange(await ScalarAsync<int>("select failed_login_count from users"), 0, 5);
        await Http.AssertProblemAsync(await Users.PostLoginAsync(Users.Browser(Factory), "alice", Users.Password),
            HttpStatusCode.Unauthorized, "invalid_credentials");
    }

    public static TheoryData<string, string> LegacyHashes => new()
    {
        { "bcrypt $2b$", Infrastructure.LegacyHashes.Bcrypt2b(Users.OtherPassword) },
        { "werkzeug pbkdf2", Infrastructure.LegacyHashes.Werkzeug(Users.OtherPassword) },
    };

    [Theory]
    [MemberData(nameof(LegacyHashes))]
    public async Task LegacyHashesVerifyAndAreRehashedOnLogin(string kind, string legacyHash)
    {
        await Users.RegisterAsync(Users.Browser(Factory));
        await ExecuteAsync("update users set password_hash = @legacyHash", new { legacyHash });

        var wrong = await Users.PostLoginAsync(Users.Browser(Factory), "alice", Users.Password);
        await Http.AssertProblemAsync(wrong, HttpStatusCode.Unauthorized, "invalid_credentials");
        Assert.Equal(legacyHash, await ScalarAsync<string>("select password_hash from users"));

        await Users.LoginAsync(Users.Browser(Factory), "alice", Users.OtherPassword);
        var rehashed = await ScalarAsync<string>("select password_hash from users");
        Assert.True(rehashed != legacyHash, $"{kind}: hash was not rehashed");
        Assert.False(rehashed.StartsWith("pbkdf2:"), rehashed);
        Assert.False(rehashed.StartsWith("$2b$"), rehashed);
        Assert.DoesNotContain(Users.OtherPassword, rehashed);

        // the new hash works, and keeps working
        await Users.LoginAsync(Users.Browser(Factory), "alice", Users.OtherPassword);
        Assert.Equal(rehashed, await ScalarAsync<string>("select password_hash from users"));
    }

    [Fact]
    public async Task LoginsAndFailuresAreAuditedWithIpAndUserAgent()
    {
        var account = await Users.RegisterAsync(Users.Browser(Factory));
        await Users.PostLoginAsync(Users.Browser(Factory), "alice", Users.OtherPassword);
        await Users.LoginAsync(Users.Browser(Factory), "alice");

        await using var db = await Db.OpenAsync(Fixture);
        var rows = (await db.QueryAsync<(long? UserId, string Action, string? IpAddress, string? UserAgent, string? OldValue, string? NewValue)>(
            "select user_id, action, ip_address, user_agent, old_value, new_value from account_logs where action in ('login', 'login_failed') order by id")).ToList();
        Assert.Equal(["login_failed", "login"], rows.Select(r => r.Action));
        Assert.All(rows, r =>
        {
            Assert.Equal(account.GetProperty("id").GetInt64(), r.UserId);
            Assert.False(string.IsNullOrEmpty(r.IpAddress));
            Assert.Equal(Users.UserAgent, r.UserAgent);
            Assert.DoesNotContain(Users.OtherPassword, (r.OldValue ?? "") + (r.NewValue ?? ""));
        });
    }

    [Fact]
    public async Task LoginWithAnEmptyBodyIsRefusedWithoutSettingCookies()
    {
        var response = await Users.Browser(Factory).PostAsync("/auth/login",
            new StringContent("{}", System.Text.Encoding.UTF8, "application/json"));
        Assert.True(response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.Unauthorized, $"got {(int)response.StatusCode}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Null(Cookies.Get(response, "access_token"));
    }
}
