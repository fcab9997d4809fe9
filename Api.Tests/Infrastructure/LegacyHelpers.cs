using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace AccountsApi.Tests.Infrastructure;

/// <summary>
/// A replay of the predecessor's `pages/assets/js/account-api.js` (Chatter), served from another origin and
/// pointed at this service with setBaseURL: every call sends `Content-Type: application/json` (GET and DELETE
/// too, without a body), `Authorization: Bearer` once a token is kept, the browser's `Origin`, and no cookies
/// (fetch without credentials). The login is a form post whose body's `access_token` is kept, as localStorage did.
/// </summary>
public sealed class ChatterPage(HttpClient client)
{
    public HttpClient Client { get; } = client;

    /// <summary>What the pages keep in localStorage under `access_token`.</summary>
    public string? Token { get; set; }

    /// <summary>A page served from <paramref name="origin"/> (null: a client that sends no Origin at all).</summary>
    public static ChatterPage Open(ApiFactory factory, string? origin = LegacyClients.PagesOrigin, string? token = null) =>
        new(Users.Raw(factory, origin)) { Token = token };

    /// <summary>`request(url, options)`: JSON content type always, bearer header when a token is kept.</summary>
    public Task<HttpResponseMessage> RequestAsync(HttpMethod method, string url, object? body = null)
    {
        var request = new HttpRequestMessage(method, url) { Content = LegacyClients.JsonBody(body) };
        if (Token is not null) request.Headers.TryAddWithoutValidation("Authorization", $"Bearer {Token}");
        return Client.SendAsync(request);
    }

    /// <summary>`AccountAPI.login`: URLSearchParams body, form content type, no Authorization header; keeps the token.</summary>
    public async Task<HttpResponseMessage> LoginAsync(string username, string password)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/auth/login")
        {
            Content = new FormUrlEncodedContent([new("username", username), new("password", password)]),
        };
        var response = await Client.SendAsync(request);
        if (response.IsSuccessStatusCode)
        {
            var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            if (body.TryGetProperty("access_token", out var token) && token.ValueKind == JsonValueKind.String) Token = token.GetString();
        }
        return response;
    }

    /// <summary>`AccountAPI.register(userData)`.</summary>
    public Task<HttpResponseMessage> RegisterAsync(object userData) => RequestAsync(HttpMethod.Post, "/accounts/register", userData);

    /// <summary>`AccountAPI.getAccount()`.</summary>
    public Task<HttpResponseMessage> GetAccountAsync() => RequestAsync(HttpMethod.Get, "/accounts/me");

    /// <summary>`AccountAPI.updateAccount(updates)`.</summary>
    public Task<HttpResponseMessage> UpdateAccountAsync(object updates) => RequestAsync(HttpMethod.Patch, "/accounts/me", updates);

    /// <summary>`AccountAPI.resetPassword(old, new)`.</summary>
    public Task<HttpResponseMessage> ResetPasswordAsync(string oldPassword, string newPassword) =>
        RequestAsync(HttpMethod.Post, "/accounts/reset-password", new Dictionary<string, object?> { ["old_password"] = oldPassword, ["new_password"] = newPassword });

    /// <summary>`AccountAPI.deleteAccount()`: DELETE with no body (and no password prompt).</summary>
    public Task<HttpResponseMessage> DeleteAccountAsync() => RequestAsync(HttpMethod.Delete, "/accounts/me");
}

public static class LegacyClients
{
    /// <summary>Where the old pages are served from (an allowed origin other than the API's own).</summary>
    public const string PagesOrigin = ApiFactory.SiteOrigin;

    public static readonly IReadOnlyDictionary<string, string?> On = new Dictionary<string, string?> { ["LEGACY_CLIENTS"] = "true" };
    public static readonly IReadOnlyDictionary<string, string?> Off = new Dictionary<string, string?> { ["LEGACY_CLIENTS"] = "false" };

    /// <summary>The app with LEGACY_CLIENTS=true (and any other settings given); dispose it with `await using`.</summary>
    public static ApiFactory WithLegacyClients(this ApiFactory factory, IReadOnlyDictionary<string, string?>? more = null)
    {
        var settings = new Dictionary<string, string?>(On);
        foreach (var (k, v) in more ?? new Dictionary<string, string?>()) settings[k] = v;
        return factory.WithSettings(settings);
    }

    /// <summary>The registration body the register page sends: no accept_terms; the date input plus "T00:00:00".</summary>
    public static Dictionary<string, object?> PagesRegistration(string username = "alice", string password = Users.Password, string? dateOfBirth = "1990-04-01")
    {
        var body = new Dictionary<string, object?>
        {
            ["username"] = username,
            ["firstname"] = "Alice",
            ["lastname"] = "Liddell",
            ["email"] = Users.EmailFor(username),
            ["password"] = password,
        };
        if (dateOfBirth is not null) body["date_of_birth"] = dateOfBirth + "T00:00:00";
        return body;
    }

    /// <summary>`JSON.stringify(body)` with `Content-Type: application/json` exactly as fetch sends it; no body: empty content, same header.</summary>
    public static HttpContent JsonBody(object? body)
    {
        var content = new StringContent(body is null ? "" : JsonSerializer.Serialize(body), Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }

    /// <summary>A request from a client that keeps no cookies, with only the bearer header as credential.</summary>
    public static Task<HttpResponseMessage> BearerAsync(HttpClient client, HttpMethod method, string url, string token, object? body = null)
    {
        var request = new HttpRequestMessage(method, url) { Content = JsonBody(body) };
        request.Headers.TryAddWithoutValidation("Authorization", $"Bearer {token}");
        return client.SendAsync(request);
    }

    /// <summary>Registers as the register page does and signs in as the login page does; returns the page with its token kept.</summary>
    public static async Task<ChatterPage> RegisterAndSignInAsync(ApiFactory factory, string username = "alice", string password = Users.Password)
    {
        var page = ChatterPage.Open(factory);
        await Http.JsonAsync(await page.RegisterAsync(PagesRegistration(username, password)), HttpStatusCode.Created);
        return await SignInAsync(factory, username, password);
    }

    /// <summary>A fresh page that signs in with the login form; asserts 200 and a kept token.</summary>
    public static async Task<ChatterPage> SignInAsync(ApiFactory factory, string login, string password = Users.Password)
    {
        var page = ChatterPage.Open(factory);
        var response = await page.LoginAsync(login, password);
        await Http.JsonAsync(response, HttpStatusCode.OK);
        Assert.False(string.IsNullOrEmpty(page.Token), "the form login's body carried no access_token");
        return page;
    }

    /// <summary>
    /// What `request()` does with a failure: `response.json()` must parse and `error.detail` must be a
    /// non-empty, human-readable string (it is shown to the user). Returns the body.
    /// </summary>
    public static async Task<JsonElement> AssertPageErrorAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {(int)status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var body = JsonDocument.Parse(text).RootElement;
        Assert.Equal(JsonValueKind.Object, body.ValueKind);
        Assert.True(body.TryGetProperty("detail", out var detail), $"no detail in {text}");
        Assert.Equal(JsonValueKind.String, detail.ValueKind);
        Assert.False(string.IsNullOrWhiteSpace(detail.GetString()), $"empty detail in {text}");
        Assert.DoesNotContain("   at ", text);
        return body;
    }

    /// <summary>A success the pages read with `response.json()`: status, a JSON object body.</summary>
    public static async Task<JsonElement> AssertPageJsonAsync(HttpResponseMessage response, HttpStatusCode status = HttpStatusCode.OK)
    {
        var body = await Http.JsonAsync(response, status);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(JsonValueKind.Object, body.ValueKind);
        return body;
    }

    /// <summary>The fields the account page reads (and the predecessor returned).</summary>
    public static readonly string[] AccountFields = ["id", "username", "firstname", "lastname", "email", "date_of_birth", "status", "created_at", "last_login"];

    public static void AssertAccountFields(JsonElement account)
    {
        var names = account.EnumerateObject().Select(p => p.Name).ToHashSet();
        foreach (var field in AccountFields) Assert.True(names.Contains(field), $"the account has no `{field}`: {account}");
        Assert.Equal(JsonValueKind.Number, account.GetProperty("id").ValueKind);
        Assert.Equal(JsonValueKind.String, account.GetProperty("username").ValueKind);
        Assert.Equal(JsonValueKind.String, account.GetProperty("status").ValueKind);
        Assert.True(DateTimeOffset.TryParse(account.GetProperty("created_at").GetString(), out _), "created_at is not a date");
    }

    /// <summary>A preflight as a browser sends it before a page's cross-origin fetch.</summary>
    public static Task<HttpResponseMessage> PreflightAsync(ApiFactory factory, string url, string method, string origin = PagesOrigin,
        string requestHeaders = "authorization,content-type")
    {
        var request = new HttpRequestMessage(HttpMethod.Options, url);
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", method);
        request.Headers.Add("Access-Control-Request-Headers", requestHeaders);
        return factory.CreateClient().SendAsync(request);
    }
}
