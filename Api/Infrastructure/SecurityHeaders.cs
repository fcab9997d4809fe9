namespace AccountsApi.Infrastructure;

public static class SecurityHeaders
{
    /// <summary>
    /// Every answer: no MIME sniffing, no framing, no referrer. API answers (account data, tokens in
    /// cookies) are never cached; the Swagger UI's static files may be.
    /// </summary>
    public static IApplicationBuilder UseSecurityHeaders(this IApplicationBuilder app) =>
        app.Use((http, next) =>
        {
            http.Response.OnStarting(() =>
            {
                var headers = http.Response.Headers;
                headers.XContentTypeOptions = "nosniff";
                headers.XFrameOptions = "DENY";
                headers["Referrer-Policy"] = "no-referrer";
                if (!http.Request.Path.StartsWithSegments("/docs")) headers.CacheControl = "no-store";
                return Task.CompletedTask;
            });
            return next(http);
        });
}
