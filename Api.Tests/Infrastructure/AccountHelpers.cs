using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Microsoft.Net.Http.Headers;
using Npgsql;

namespace AccountsApi.Tests.Infrastructure;

/// <summary>A browser client that has signed in, with the cookies its login received.</summary>
public sealed record SignedIn(HttpClient Client, JsonElement Account, string AccessToken, string RefreshToken)
{
    public long UserId => Account.GetProperty("id").GetInt64();
    public string Username => Account.GetProperty("username").GetString()!;
    public string SessionId => Tokens.Read(AccessToken).GetClaim("sid").Value;
}

/// <summary>Registering, signing in and building clients the way the site (or an attacker) would.</summary>
public static class Users
{
    /// <summary>Meets the policy (upper, lower, digit, 8+) and is not on the blocklist.</summary>
    public const string Password = "Sturdy-Pass-42";
    public const string OtherPassword = "Brave-Otter-93";
    public const string UserAgent = "AccountsApi.Tests/1.0 (xunit; audit-check)";

    public static string EmailFor(string username) => $"{username}@example.com";

    /// <summary>A valid registration body; change or remove fields in the returned dictionary.</summary>
    public static Dictionary<string, object?> RegisterBody(string username = "alice", string? email = null, string password = Password) => new()
    {
        ["username"] = username,
        ["email"] = email ?? EmailFor(username),
        ["password"] = password,
        ["firstname"] = "Alice",
        ["lastname"] = "Liddell",
        ["date_of_birth"] = "1990-04-01",
        ["accept_terms"] = true,
    };

    /// <summary>The site's client: allowed Origin, cookies kept, a recognisable User-Agent.</summary>
    public static HttpClient Browser(ApiFactory factory, string origin = ApiFactory.SiteOrigin)
    {
        var client = factory.CreateBrowserClient(origin);
        client.DefaultRequestHeaders.TryAddWithoutValidation("User-Agent", UserAgent);
        return client;
    }

    /// <summary>A client without cookie handling: send cookies yourself with <see cref="WithCookie"/>.</summary>
    public static HttpClient Raw(ApiFactory factory, string? origin = ApiFactory.SiteOrigin)
    {
        var client = factory.CreateClient(new WebApplicationFactoryClientOptions { HandleCookies = false, AllowAutoRedirect = false });
        if (origin is not null) client.DefaultRequestHeaders.Add("Origin", origin);
        client.DefaultRequestHeaders.TryAddWithoutValidation("User-Agent", UserAgent);
        return client;
    }

    /// <summary>A raw client that presents exactly this cookie on every request.</summary>
    public static HttpClient WithCookie(ApiFactory factory, string name, string value)
    {
        var client = Raw(factory);
        client.DefaultRequestHeaders.Add("Cookie", $"{name}={value}");
        return client;
    }

    public static HttpClient WithAccessToken(ApiFactory factory, string token) => WithCookie(factory, "access_token", token);

    public static Task<HttpResponseMessage> PostRegisterAsync(HttpClient client, IDictionary<string, object?> body) =>
        client.PostAsync("/accounts/register", JsonContent.Create(body));

    /// <summary>Registers and asserts 201; returns the account.</summary>
    public static async Task<JsonElement> RegisterAsync(HttpClient client, string username = "alice", string? email = null, string password = Password)
    {
        var response = await PostRegisterAsync(client, RegisterBody(username, email, password));
        return await Http.JsonAsync(response, HttpStatusCode.Created);
    }

    public static Task<HttpResponseMessage> PostLoginAsync(HttpClient client, string login, string password) =>
        client.PostAsync("/auth/login", JsonContent.Create(new Dictionary<string, object?> { ["login"] = login, ["password"] = password }));

    /// <summary>Signs in on this client and asserts 200; returns the login response.</summary>
    public static async Task<HttpResponseMessage> LoginAsync(HttpClient client, string login, string password = Password)
    {
        var response = await PostLoginAsync(client, login, password);
        if (response.StatusCode != HttpStatusCode.OK)
            Assert.Fail($"login as {login}: expected 200, got {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return response;
    }

    /// <summary>Signs in an existing user on a fresh browser client.</summary>
    public static async Task<SignedIn> SignInAsync(ApiFactory factory, string login, string password = Password)
    {
        var client = Browser(factory);
        var response = await LoginAsync(client, login, password);
        var account = await Http.JsonAsync(response, HttpStatusCode.OK);
        return new SignedIn(client, account,
            Cookies.Get(response, "access_token") ?? throw new Xunit.Sdk.XunitException("login set no access_token cookie"),
            Cookies.Get(response, "refresh_token") ?? throw new Xunit.Sdk.XunitException("login set no refresh_token cookie"));
    }

    /// <summary>Registers a new user and signs them in on a fresh browser client.</summary>
    public static async Task<SignedIn> SignUpAndInAsync(ApiFactory factory, string username = "alice", string password = Password)
    {
        await RegisterAsync(Browser(factory), username, password: password);
        return await SignInAsync(factory, username, password);
    }

    /// <summary>This sign-in is over, at once: its access token and its refresh token both fail.</summary>
    public static async Task AssertSignedOutAsync(ApiFactory factory, SignedIn signedIn)
    {
        await Http.AssertProblemAsync(await WithAccessToken(factory, signedIn.AccessToken).GetAsync("/accounts/me"), HttpStatusCode.Unauthorized, "unauthorized");
        await Http.AssertProblemAsync(await signedIn.Client.GetAsync("/auth/session"), HttpStatusCode.Unauthorized, "unauthorized");
        await Http.AssertProblemAsync(await WithCookie(factory, "refresh_token", signedIn.RefreshToken).PostAsync("/auth/refresh", null),
            HttpStatusCode.Unauthorized, "invalid_refresh_token");
    }

    public static Task<HttpResponseMessage> DeleteWithJsonAsync(HttpClient client, string url, object body) =>
        client.SendAsync(new HttpRequestMessage(HttpMethod.Delete, url) { Content = JsonContent.Create(body) });

    public static Task<HttpResponseMessage> PatchJsonAsync(HttpClient client, string url, object body) =>
        client.PatchAsync(url, JsonContent.Create(body));
}

/// <summary>Set-Cookie parsing.</summary>
public static class Cookies
{
    public static IReadOnlyList<SetCookieHeaderValue> All(HttpResponseMessage response) =>
        response.Headers.TryGetValues(HeaderNames.SetCookie, out var values)
            ? SetCookieHeaderValue.ParseList(values.ToList()).ToList()
            : [];

    public static SetCookieHeaderValue? Header(HttpResponseMessage response, string name) =>
        All(response).LastOrDefault(c => c.Name.Value == name);

    /// <summary>The value a Set-Cookie header gives the cookie, or null when the response sets no such cookie.</summary>
    public static string? Get(HttpResponseMessage response, string name) => Header(response, name)?.Value.Value;

    /// <summary>True when the response tells the browser to drop the cookie (an expiry in the past or Max-Age 0).</summary>
    public static bool IsCleared(SetCookieHeaderValue cookie) =>
        (cookie.Expires is { } expires && expires < DateTimeOffset.UtcNow) || cookie.MaxAge is { } age && age <= TimeSpan.Zero;
}

/// <summary>Reading and forging access tokens.</summary>
public static class Tokens
{
    public static JsonWebToken Read(string jwt) => new(jwt);

    /// <summary>An HS256 (or other HMAC) token with exactly these claims, signed with the given key.</summary>
    public static string Sign(IDictionary<string, object> claims, string key = ApiFactory.SigningKey, string algorithm = SecurityAlgorithms.HmacSha256)
    {
        var handler = new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false };
        return handler.CreateToken(new SecurityTokenDescriptor
        {
            Claims = claims,
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(key)), algorithm),
        });
    }

    /// <summary>The claims a genuine token carries for this user and session, valid for ten minutes.</summary>
    public static Dictionary<string, object> Claims(long userId, string sessionId, string username, string role = "user", DateTimeOffset? expires = null)
    {
        var now = DateTimeOffset.UtcNow;
        var exp = expires ?? now.AddMinutes(10);
        var iat = exp < now ? exp.AddMinutes(-15) : now;
        return new Dictionary<string, object>
        {
            ["sub"] = userId.ToString(),
            ["sid"] = sessionId,
            ["name"] = username,
            ["role"] = role,
            ["iss"] = "accounts-api",
            ["aud"] = "accounts-api",
            ["iat"] = iat.ToUnixTimeSeconds(),
            ["nbf"] = iat.ToUnixTimeSeconds(),
            ["exp"] = exp.ToUnixTimeSeconds(),
            ["jti"] = Guid.NewGuid().ToString(),
        };
    }

    public static string Base64Url(string json) => Base64UrlEncoder.Encode(json);

    public static string DecodeSegment(string segment) => Base64UrlEncoder.Decode(segment);
}

/// <summary>Legacy password hashes as the predecessors stored them.</summary>
public static class LegacyHashes
{
    /// <summary>Chatter's bcrypt, with the `$2b$` prefix Python's bcrypt writes.</summary>
    public static string Bcrypt2b(string password)
    {
        var hash = BCrypt.Net.BCrypt.HashPassword(password, 4);
        Assert.StartsWith("$2a$", hash);
        return "$2b$" + hash[4..];
    }

    /// <summary>Werkzeug's generate_password_hash(method="pbkdf2:sha256:1000").</summary>
    public static string Werkzeug(string password, string salt = "Zq3xW8pLk2Rt")
    {
        var derived = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), Encoding.UTF8.GetBytes(salt), 1000, HashAlgorithmName.SHA256, 32);
        return $"pbkdf2:sha256:1000${salt}${Convert.ToHexStringLower(derived)}";
    }
}

/// <summary>Direct database access for assertions.</summary>
public static class Db
{
    public static async Task<NpgsqlConnection> OpenAsync(ApiFixture fixture)
    {
        var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        return connection;
    }
}
