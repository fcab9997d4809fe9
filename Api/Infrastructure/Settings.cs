using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace AccountsApi.Infrastructure;

// Every setting is a plain environment variable (see .env.example). Each options class binds from the
// configuration root; ConfigurationKeyName maps the upper-case variable names onto properties.

public sealed class DatabaseOptions
{
    /// <summary>postgres:// URL or Npgsql connection string. Unset: a local cluster under .data/ is started.</summary>
    [ConfigurationKeyName("DATABASE_URL")] public string? Url { get; set; }
    [ConfigurationKeyName("DB_POOL_MIN"), Range(0, 1000)] public int PoolMin { get; set; } = 0;
    [ConfigurationKeyName("DB_POOL_MAX"), Range(1, 1000)] public int PoolMax { get; set; } = 50;
    [ConfigurationKeyName("DB_CONNECT_TIMEOUT_SECONDS"), Range(1, 120)] public int ConnectTimeoutSeconds { get; set; } = 5;
    [ConfigurationKeyName("DB_COMMAND_TIMEOUT_SECONDS"), Range(1, 600)] public int CommandTimeoutSeconds { get; set; } = 30;
    /// <summary>Run migrations before serving (default). Turn off when a deploy step runs `migrate` instead.</summary>
    [ConfigurationKeyName("MIGRATE_ON_START")] public bool MigrateOnStart { get; set; } = true;
}

public sealed class JwtOptions
{
    public const int MinimumKeyBytes = 32;
    /// <summary>HS256 key, used as its UTF-8 bytes. Required outside Development.</summary>
    [ConfigurationKeyName("JWT_SIGNING_KEY")] public string? SigningKey { get; set; }
    [ConfigurationKeyName("JWT_ISSUER")] public string Issuer { get; set; } = "accounts-api";
    [ConfigurationKeyName("ACCESS_TOKEN_MINUTES"), Range(1, 1440)] public int AccessTokenMinutes { get; set; } = 15;
    [ConfigurationKeyName("REFRESH_TOKEN_DAYS"), Range(1, 365)] public int RefreshTokenDays { get; set; } = 30;
    [ConfigurationKeyName("REFRESH_REUSE_GRACE_SECONDS"), Range(0, 300)] public int RefreshGraceSeconds { get; set; } = 10;
}

public sealed class SiteOptions
{
    [ConfigurationKeyName("ALLOWED_ORIGINS")]
    public string AllowedOrigins { get; set; } =
        "http://localhost:3000,http://localhost:4000,http://localhost:8001,http://127.0.0.1:3000,http://127.0.0.1:4000,http://127.0.0.1:8001";
    [ConfigurationKeyName("PUBLIC_SITE_URL"), Url] public string PublicSiteUrl { get; set; } = "http://localhost:4000";
    [ConfigurationKeyName("TRUSTED_PROXIES")] public string TrustedProxies { get; set; } = "";
    [ConfigurationKeyName("MAX_REQUEST_BODY_BYTES"), Range(1024, 100 * 1024 * 1024)] public long MaxRequestBodyBytes { get; set; } = 1024 * 1024;
    /// <summary>
    /// Compatibility with the predecessor's browser pages: bearer tokens (also in the form-login body), a
    /// JavaScript-readable `username` cookie, registration without `accept_terms`, deletion without a password
    /// body for bearer requests.
    /// </summary>
    [ConfigurationKeyName("LEGACY_CLIENTS")] public bool LegacyClients { get; set; }
    /// <summary>Domain of the legacy `username` cookie, e.g. `example.com` so www.example.com can read what api.example.com set.</summary>
    [ConfigurationKeyName("USERNAME_COOKIE_DOMAIN")] public string? UsernameCookieDomain { get; set; }

    string[]? origins;

    /// <summary>Parsed once: the origin check reads this on every state-changing request.</summary>
    public string[] Origins => origins ??= Split(AllowedOrigins).Select(o => o.TrimEnd('/')).ToArray();
    public string[] Proxies => Split(TrustedProxies);

    static string[] Split(string value) =>
        value.Split([',', ';', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}

public sealed class SecurityOptions
{
    [ConfigurationKeyName("BCRYPT_WORK_FACTOR"), Range(4, 31)] public int BcryptWorkFactor { get; set; } = 11;
    [ConfigurationKeyName("LOCKOUT_THRESHOLD"), Range(1, 100)] public int LockoutThreshold { get; set; } = 5;
    [ConfigurationKeyName("LOCKOUT_MINUTES"), Range(1, 1440)] public int LockoutMinutes { get; set; } = 5;
    [ConfigurationKeyName("LOCKOUT_MAX_MINUTES"), Range(1, 10080)] public int LockoutMaxMinutes { get; set; } = 60;
    [ConfigurationKeyName("SECRET_ENCRYPTION_KEY")] public string? SecretEncryptionKey { get; set; }
}

public sealed class RateLimitSettings
{
    [ConfigurationKeyName("RATE_LIMIT_ENABLED")] public bool Enabled { get; set; } = true;
    [ConfigurationKeyName("RATE_LIMIT_LOGIN_PER_MINUTE"), Range(1, 1_000_000)] public int LoginPerMinute { get; set; } = 5;
    [ConfigurationKeyName("RATE_LIMIT_REGISTER_PER_HOUR"), Range(1, 1_000_000)] public int RegisterPerHour { get; set; } = 3;
    [ConfigurationKeyName("RATE_LIMIT_PASSWORD_PER_HOUR"), Range(1, 1_000_000)] public int PasswordPerHour { get; set; } = 5;
    [ConfigurationKeyName("REDIS_URL")] public string? RedisUrl { get; set; }
}

public sealed class SmtpOptions
{
    [ConfigurationKeyName("SMTP_HOST")] public string? Host { get; set; }
    [ConfigurationKeyName("SMTP_PORT"), Range(1, 65535)] public int Port { get; set; } = 587;
    [ConfigurationKeyName("SMTP_USER")] public string? User { get; set; }
    [ConfigurationKeyName("SMTP_PASSWORD")] public string? Password { get; set; }
    [ConfigurationKeyName("SMTP_FROM")] public string From { get; set; } = "AccountsApi <no-reply@localhost>";
    [ConfigurationKeyName("SMTP_TLS"), RegularExpression("^(auto|starttls|tls|none)$", ErrorMessage = "SMTP_TLS must be auto, starttls, tls or none.")]
    public string Tls { get; set; } = "auto";
    [ConfigurationKeyName("MAIL_DROP_DIRECTORY")] public string MailDropDirectory { get; set; } = ".data/mail";
}

public sealed class EmailOptions
{
    /// <summary>When true, accounts must verify their email before they can sign in.</summary>
    [ConfigurationKeyName("REQUIRE_VERIFIED_EMAIL")] public bool RequireVerifiedEmail { get; set; }
    [ConfigurationKeyName("PASSWORD_RESET_TOKEN_MINUTES"), Range(5, 10080)] public int PasswordResetTokenMinutes { get; set; } = 60;
    [ConfigurationKeyName("EMAIL_VERIFICATION_TOKEN_HOURS"), Range(1, 720)] public int VerificationTokenHours { get; set; } = 48;
    /// <summary>User-triggered mails (verification resend, password reset): at most one per recipient per this many seconds.</summary>
    [ConfigurationKeyName("EMAIL_THROTTLE_SECONDS"), Range(1, 86400)] public int ThrottleSeconds { get; set; } = 60;
    /// <summary>First retry delay after a failed delivery; each further retry waits twice as long (at most an hour).</summary>
    [ConfigurationKeyName("EMAIL_RETRY_BASE_SECONDS"), Range(1, 3600)] public int RetryBaseSeconds { get; set; } = 5;
    [ConfigurationKeyName("EMAIL_MAX_ATTEMPTS"), Range(1, 100)] public int MaxAttempts { get; set; } = 12;
    /// <summary>How often the sender looks for due mail (also woken at once when mail is queued).</summary>
    [ConfigurationKeyName("EMAIL_POLL_SECONDS"), Range(1, 60)] public int PollSeconds { get; set; } = 2;
}

/// <summary>Cross-setting rules that data annotations cannot express.</summary>
public sealed class JwtOptionsValidator(IHostEnvironment environment) : IValidateOptions<JwtOptions>
{
    public ValidateOptionsResult Validate(string? name, JwtOptions options)
    {
        if (string.IsNullOrEmpty(options.SigningKey))
            return environment.IsDevelopment()
                ? ValidateOptionsResult.Success
                : ValidateOptionsResult.Fail("JWT_SIGNING_KEY is required outside Development (at least 32 bytes, e.g. `openssl rand -base64 48`).");
        return System.Text.Encoding.UTF8.GetByteCount(options.SigningKey) < JwtOptions.MinimumKeyBytes
            ? ValidateOptionsResult.Fail("JWT_SIGNING_KEY must be at least 32 bytes long.")
            : ValidateOptionsResult.Success;
    }
}

public sealed class SecurityOptionsValidator : IValidateOptions<SecurityOptions>
{
    public ValidateOptionsResult Validate(string? name, SecurityOptions options)
    {
        if (string.IsNullOrEmpty(options.SecretEncryptionKey)) return ValidateOptionsResult.Success;
        try
        {
            return Convert.FromBase64String(options.SecretEncryptionKey).Length == 32
                ? ValidateOptionsResult.Success
                : ValidateOptionsResult.Fail("SECRET_ENCRYPTION_KEY must be 32 bytes in base64 (`openssl rand -base64 32`).");
        }
        catch (FormatException)
        {
            return ValidateOptionsResult.Fail("SECRET_ENCRYPTION_KEY is not valid base64 (`openssl rand -base64 32`).");
        }
    }
}

public static class SettingsExtensions
{
    static readonly Func<IServiceProvider, object>[] Resolvers =
    [
        Resolve<DatabaseOptions>, Resolve<JwtOptions>, Resolve<SiteOptions>,
        Resolve<SecurityOptions>, Resolve<RateLimitSettings>, Resolve<SmtpOptions>, Resolve<EmailOptions>,
    ];

    static object Resolve<T>(IServiceProvider services) where T : class => services.GetRequiredService<IOptions<T>>().Value;

    public static IServiceCollection AddSettings(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton<IValidateOptions<JwtOptions>, JwtOptionsValidator>();
        services.AddSingleton<IValidateOptions<SecurityOptions>, SecurityOptionsValidator>();
        Add<DatabaseOptions>(services, configuration);
        Add<JwtOptions>(services, configuration);
        Add<SiteOptions>(services, configuration);
        Add<SecurityOptions>(services, configuration);
        Add<RateLimitSettings>(services, configuration);
        Add<SmtpOptions>(services, configuration);
        Add<EmailOptions>(services, configuration);
        return services;
    }

    static void Add<T>(IServiceCollection services, IConfiguration configuration) where T : class =>
        services.AddOptions<T>().Bind(configuration).ValidateDataAnnotations().ValidateOnStart();

    /// <summary>Resolves every options class once so a bad setting stops the process with one clear line.</summary>
    public static IReadOnlyList<string> FindSettingErrors(IServiceProvider services)
    {
        var errors = new List<string>();
        foreach (var resolve in Resolvers)
        {
            try { resolve(services); }
            catch (OptionsValidationException e) { errors.AddRange(e.Failures); }
            catch (InvalidOperationException e) { errors.Add(e.Message); } // binder: e.g. DB_POOL_MAX=lots
        }
        return errors;
    }
}
