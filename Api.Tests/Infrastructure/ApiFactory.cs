using AccountsApi.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace AccountsApi.Tests.Infrastructure;

/// <summary>
/// The real app over a real PostgreSQL. Settings go in exactly as environment variables would; the
/// defaults here only lower the BCrypt cost and lift the rate limits so the suite runs fast — tests
/// that exercise the real defaults say so with <see cref="WithSettings"/>.
/// </summary>
public sealed class ApiFactory(
    string connectionString, IReadOnlyDictionary<string, string?>? overrides = null, Action<IServiceCollection>? services = null)
    : WebApplicationFactory<Program>
{
    public const string SigningKey = "test-signing-key-that-is-long-enough-0123456789";
    public const string SiteOrigin = "http://localhost:4000";

    public static readonly IReadOnlyDictionary<string, string?> FastDefaults = new Dictionary<string, string?>
    {
        ["ENVIRONMENT"] = "Development",
        ["JWT_SIGNING_KEY"] = SigningKey,
        ["BCRYPT_WORK_FACTOR"] = "4",
        ["RATE_LIMIT_ENABLED"] = "false",
        ["LOG_LEVEL"] = "Warning",
        ["PUBLIC_SITE_URL"] = SiteOrigin,
        ["EMAIL_POLL_SECONDS"] = "1",
        ["EMAIL_RETRY_BASE_SECONDS"] = "1",
        ["MAIL_DROP_DIRECTORY"] = Path.Combine(Path.GetTempPath(), "accountsapi-test-mail"),
    };

    public string ConnectionString { get; } = connectionString;

    public ApiFactory WithSettings(IReadOnlyDictionary<string, string?> settings)
    {
        var merged = new Dictionary<string, string?>(overrides ?? new Dictionary<string, string?>());
        foreach (var (k, v) in settings) merged[k] = v;
        return new ApiFactory(ConnectionString, merged, services);
    }

    /// <summary>The same app with extra services (e.g. a log sink to read what is logged).</summary>
    public ApiFactory WithServices(Action<IServiceCollection> configure) =>
        new(ConnectionString, overrides, s => { services?.Invoke(s); configure(s); });

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        var settings = new Dictionary<string, string?>(FastDefaults) { ["DATABASE_URL"] = ConnectionString };
        foreach (var (k, v) in overrides ?? new Dictionary<string, string?>()) settings[k] = v;
        foreach (var (k, v) in settings) builder.UseSetting(k, v);
        builder.UseEnvironment(settings["ENVIRONMENT"] ?? "Production");
        if (services is not null) builder.ConfigureTestServices(services);
    }

    /// <summary>A client as the Jekyll site's JavaScript is: from the site's origin, keeping cookies.</summary>
    public HttpClient CreateBrowserClient(string origin = SiteOrigin)
    {
        var client = CreateClient(new WebApplicationFactoryClientOptions { HandleCookies = true, AllowAutoRedirect = false });
        client.DefaultRequestHeaders.Add("Origin", origin);
        return client;
    }
}
