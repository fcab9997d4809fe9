using System.Net;
using AccountsApi.Infrastructure;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Options;
using IPNetwork = System.Net.IPNetwork;

namespace AccountsApi.Security;

/// <summary>Authentication (JWT from the cookie), CORS, trusted proxies, and the Origin check against CSRF.</summary>
public static class WebSecurity
{
    public static IServiceCollection AddWebSecurity(this IServiceCollection services)
    {
        services.AddSingleton<Tokens>();
        services.AddSingleton<AuthCookies>();
        services.AddSingleton<SessionRevocations>();

        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();
        services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
            .Configure<Tokens, SessionRevocations, IOptions<SiteOptions>>((options, tokens, revocations, site) =>
            {
                options.MapInboundClaims = false;
                options.TokenValidationParameters = tokens.ValidationParameters();
                options.Events = new JwtBearerEvents
                {
                    OnMessageReceived = context =>
                    {
                        var header = context.Request.Headers.Authorization.ToString();
                        if (header.Length > 0)
                        {
                            // Bearer tokens exist only for the predecessor's pages (LEGACY_CLIENTS).
                            if (site.Value.LegacyClients && header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
                                context.Token = header["Bearer ".Length..].Trim();
                            else
                                context.Fail("Authorization headers are not accepted; the access cookie is.");
                            return Task.CompletedTask;
                        }
                        context.Token = context.Request.Cookies[AuthCookies.Access];
                        return Task.CompletedTask;
                    },
                    OnTokenValidated = context =>
                    {
                        if (!Guid.TryParse(context.Principal?.FindFirst(Tokens.SessionClaim)?.Value, out var sessionId)
                            || !long.TryParse(context.Principal?.FindFirst("sub")?.Value, out _))
                            context.Fail("The token names no session.");
                        else if (revocations.IsRevoked(sessionId))
                            context.Fail("The session has been revoked.");
                        return Task.CompletedTask;
                    },
                    OnChallenge = context =>
                    {
                        context.HandleResponse();
                        return context.HttpContext.WriteProblemAsync(StatusCodes.Status401Unauthorized, "Sign in first: there is no valid session.");
                    },
                };
            });
        services.AddAuthorization();

        services.AddCors();
        services.AddOptions<CorsOptions>().Configure<IOptions<SiteOptions>>((cors, site) =>
            cors.AddDefaultPolicy(policy => policy
                .WithOrigins(site.Value.Origins)
                .AllowCredentials()
                .WithMethods("GET", "POST", "PUT", "PATCH", "DELETE")
                .WithHeaders("Content-Type", "Authorization", "X-Requested-With")
                .WithExposedHeaders("Retry-After", "Location")
                .SetPreflightMaxAge(TimeSpan.FromHours(2))));

        // Only the configured proxies may say who the client is. ASP.NET trusts loopback by default: cleared.
        services.AddOptions<ForwardedHeadersOptions>().Configure<IOptions<SiteOptions>>((forwarded, site) =>
        {
            forwarded.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            forwarded.KnownProxies.Clear();
            forwarded.KnownIPNetworks.Clear();
            forwarded.ForwardLimit = null;
            foreach (var proxy in site.Value.Proxies)
            {
                if (proxy.Contains('/')) forwarded.KnownIPNetworks.Add(IPNetwork.Parse(proxy));
                else forwarded.KnownProxies.Add(IPAddress.Parse(proxy));
            }
        });
        return services;
    }

    /// <summary>
    /// X-Forwarded-For is applied only when TRUSTED_PROXIES names someone; with no proxies configured the
    /// middleware is not in the pipeline at all (it would otherwise believe any peer without an address).
    /// </summary>
    public static IApplicationBuilder UseTrustedProxies(this WebApplication app) =>
        app.Services.GetRequiredService<IOptions<SiteOptions>>().Value.Proxies.Length > 0 ? app.UseForwardedHeaders() : app;

    /// <summary>
    /// CSRF defence: a state-changing request must come from an allowed origin (Origin header, or the
    /// Referer's origin when Origin is absent), or from this API's own pages (Swagger UI). Bearer requests
    /// carry no ambient credential, so they are exempt; CORS still applies to them.
    /// </summary>
    public static IApplicationBuilder UseOriginGuard(this IApplicationBuilder app) =>
        app.Use(async (http, next) =>
        {
            if (HttpMethods.IsGet(http.Request.Method) || HttpMethods.IsHead(http.Request.Method)
                || HttpMethods.IsOptions(http.Request.Method) || HttpMethods.IsTrace(http.Request.Method)
                || http.IsLegacyBearerRequest() || IsAllowed(http))
            {
                await next(http);
                return;
            }
            await http.WriteProblemAsync(StatusCodes.Status403Forbidden,
                "State-changing requests must come from an allowed origin (ALLOWED_ORIGINS).", ErrorCodes.OriginNotAllowed, "Origin not allowed");
        });

    /// <summary>A request authenticated (or trying to be) by a bearer header alone, as LEGACY_CLIENTS allows: no ambient credential.</summary>
    public static bool IsLegacyBearerRequest(this HttpContext http) =>
        http.RequestServices.GetRequiredService<IOptions<SiteOptions>>().Value.LegacyClients
        && http.Request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
        && !http.Request.Cookies.ContainsKey(AuthCookies.Access);

    static bool IsAllowed(HttpContext http)
    {
        var origin = http.Request.Headers.Origin.ToString();
        if (origin.Length == 0 && Uri.TryCreate(http.Request.Headers.Referer.ToString(), UriKind.Absolute, out var referer))
            origin = referer.GetLeftPart(UriPartial.Authority);
        if (origin.Length == 0 || origin == "null") return false;
        origin = origin.TrimEnd('/');
        var allowed = http.RequestServices.GetRequiredService<IOptions<SiteOptions>>().Value.Origins;
        return allowed.Contains(origin, StringComparer.OrdinalIgnoreCase)
               || string.Equals(origin, $"{http.Request.Scheme}://{http.Request.Host}", StringComparison.OrdinalIgnoreCase);
    }
}
