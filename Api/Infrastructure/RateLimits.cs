using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using RedisRateLimiting;
using StackExchange.Redis;

namespace AccountsApi.Infrastructure;

/// <summary>
/// Per-client-IP fixed windows: login 5/min, register 3/h, password endpoints 5/h (all settings).
/// In memory by default; in Redis when REDIS_URL is set, so several instances share the counters.
/// The client IP is the forwarded-headers result, so only TRUSTED_PROXIES can change it.
/// </summary>
public static class RateLimits
{
    public const string Login = "login";
    public const string Register = "register";
    public const string Password = "password";

    public static IServiceCollection AddApiRateLimits(this IServiceCollection services)
    {
        services.AddSingleton<RedisConnection>();
        services.AddRateLimiter(options =>
        {
            options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            options.AddPolicy(Login, http => Partition(http, Login, s => s.LoginPerMinute, TimeSpan.FromMinutes(1)));
            options.AddPolicy(Register, http => Partition(http, Register, s => s.RegisterPerHour, TimeSpan.FromHours(1)));
            options.AddPolicy(Password, http => Partition(http, Password, s => s.PasswordPerHour, TimeSpan.FromHours(1)));
            options.OnRejected = async (context, ct) =>
            {
                var http = context.HttpContext;
                var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromMinutes(1);
                var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
                http.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
                await http.WriteProblemAsync(StatusCodes.Status429TooManyRequests, $"Too many attempts from this address; try again in {seconds} s.");
            };
        });
        return services;
    }

    static RateLimitPartition<string> Partition(HttpContext http, string policy, Func<RateLimitSettings, int> limit, TimeSpan window)
    {
        var settings = http.RequestServices.GetRequiredService<IOptions<RateLimitSettings>>().Value;
        if (!settings.Enabled) return RateLimitPartition.GetNoLimiter("off");

        var key = $"{policy}:{http.Connection.RemoteIpAddress?.ToString() ?? "unknown"}";
        var permits = limit(settings);
        // While Redis is unreachable each instance falls back to its own counters rather than refusing sign-ins.
        // The key names the store, since the limiter caches one limiter per key.
        if (http.RequestServices.GetRequiredService<RedisConnection>().Multiplexer is { IsConnected: true } redis)
            return RedisRateLimitPartition.GetFixedWindowRateLimiter($"{key}:shared", _ => new RedisFixedWindowRateLimiterOptions
            {
                ConnectionMultiplexerFactory = () => redis,
                PermitLimit = permits,
                Window = window,
            });
        return RateLimitPartition.GetFixedWindowLimiter($"{key}:local", _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = permits,
            Window = window,
            QueueLimit = 0,
        });
    }

    /// <summary>One multiplexer for the process, connected lazily, only when REDIS_URL is set.</summary>
    public sealed class RedisConnection(IOptions<RateLimitSettings> settings, ILogger<RedisConnection> logger) : IDisposable
    {
        readonly Lazy<IConnectionMultiplexer?> multiplexer = new(() =>
        {
            if (string.IsNullOrWhiteSpace(settings.Value.RedisUrl)) return null;
            var redis = ConnectionMultiplexer.Connect(ToConfiguration(settings.Value.RedisUrl));
            redis.ConnectionFailed += (_, e) =>
                logger.LogWarning("Redis unreachable ({Failure}): rate limits are counted per instance until it is back", e.FailureType);
            redis.ConnectionRestored += (_, _) => logger.LogInformation("Redis reachable again: rate limits are shared");
            return redis;
        });

        public IConnectionMultiplexer? Multiplexer => multiplexer.Value;

        /// <summary>Accepts redis://[:password@]host:port[/db] as well as StackExchange.Redis' own configuration string.</summary>
        internal static string ToConfiguration(string url)
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != "redis" && uri.Scheme != "rediss")) return url;
            // Short timeouts: a rate-limit check must not hold a sign-in for StackExchange.Redis' default 5 s.
            var parts = new List<string> { $"{uri.Host}:{(uri.Port > 0 ? uri.Port : 6379)}", "abortConnect=false", "connectTimeout=2000", "syncTimeout=1000", "asyncTimeout=1000" };
            var userInfo = uri.UserInfo.Split(':', 2);
            if (userInfo.Length == 2 && userInfo[1].Length > 0) parts.Add($"password={Uri.UnescapeDataString(userInfo[1])}");
            if (userInfo[0].Length > 0 && userInfo.Length == 2) parts.Add($"user={Uri.UnescapeDataString(userInfo[0])}");
            if (uri.Scheme == "rediss") parts.Add("ssl=true");
            if (int.TryParse(uri.AbsolutePath.Trim('/'), out var db)) parts.Add($"defaultDatabase={db}");
            return string.Join(',', parts);
        }

        public void Dispose()
        {
            if (multiplexer.IsValueCreated) multiplexer.Value?.Dispose();
        }
    }
}
