using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace AccountsApi.Infrastructure;

public static class RequestLimits
{
    /// <summary>
    /// Bodies over MAX_REQUEST_BODY_BYTES get 413 before anything reads them. Kestrel enforces the same
    /// limit on chunked bodies while they stream; this also covers hosts without that feature.
    /// </summary>
    public static IApplicationBuilder UseRequestBodyLimit(this IApplicationBuilder app) =>
        app.Use(async (http, next) =>
        {
            var max = http.RequestServices.GetRequiredService<IOptions<SiteOptions>>().Value.MaxRequestBodyBytes;
            if (http.Request.ContentLength > max)
            {
                await http.WriteProblemAsync(StatusCodes.Status413PayloadTooLarge, $"The request body is larger than the limit of {max} bytes.");
                return;
            }
            if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature) feature.MaxRequestBodySize = max;
            await next(http);
        });
}
