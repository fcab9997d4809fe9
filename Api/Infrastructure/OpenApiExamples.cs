using NSwag.Generation.Processors;
using NSwag.Generation.Processors.Contexts;

namespace AccountsApi.Infrastructure;

/// <summary>Request and response examples in the OpenAPI document, by operation id, so Swagger UI shows real payloads.</summary>
public sealed class OpenApiExamples : IOperationProcessor
{
    static readonly object Account = new
    {
        id = 42, username = "ada", email = "ada@example.com", firstname = "Ada", lastname = "Lovelace",
        date_of_birth = "1990-12-10", status = "active", role = "user", email_verified = false, pending_email = (string?)null,
        created_at = "2026-11-26T09:30:00Z", updated_at = "2026-11-26T09:30:00Z", last_login = "2026-11-26T09:31:12Z",
    };

    static readonly object Session = new
    {
        user_id = 42, username = "ada", role = "user", session_id = "6f1c2a8e-3b7d-4c55-9f0e-2d4b8a9c1e77", expires_at = "2026-11-26T09:46:12Z",
    };

    static readonly Dictionary<string, (object? Request, string Status, object? Response)> Examples = new()
    {
        ["Register"] = (new
        {
            username = "ada", email = "ada@example.com", password = "Analytical-Engine-1843", firstname = "Ada", lastname = "Lovelace",
            date_of_birth = "1990-12-10", accept_terms = true,
        }, "201", Account),
        ["Login"] = (new { login = "ada@example.com", password = "Analytical-Engine-1843" }, "200", Account),
        ["GetSession"] = (null, "200", Session),
        ["Refresh"] = (null, "200", Session),
        ["Logout"] = (null, "200", new { message = "Signed out." }),
        ["LogoutAll"] = (null, "200", new { message = "Signed out everywhere.", revoked = 3 }),
        ["GetAccount"] = (null, "200", Account),
        ["UpdateAccount"] = (new { firstname = "Augusta Ada", date_of_birth = (string?)null }, "200", Account),
        ["DeleteAccount"] = (new { password = "Analytical-Engine-1843" }, "200", new { message = "The account has been deleted." }),
        ["ChangePassword"] = (new { current_password = "Analytical-Engine-1843", new_password = "Difference-Engine-1822" }, "200",
            new { message = "The password has been changed and 2 other session(s) signed out." }),
        ["ChangePasswordLegacy"] = (new { old_password = "Analytical-Engine-1843", new_password = "Difference-Engine-1822" }, "200",
            new { message = "The password has been changed." }),
        ["GetActivity"] = (null, "200", new
        {
            items = new object[]
            {
                new { id = 7, action = "updated", field = "firstname", old_value = "Ada", new_value = "Augusta Ada", ip_address = "203.0.113.7", user_agent = "Mozilla/5.0", created_at = "2026-11-26T09:40:00Z" },
                new { id = 6, action = "login", field = (string?)null, old_value = (string?)null, new_value = (string?)null, ip_address = "203.0.113.7", user_agent = "Mozilla/5.0", created_at = "2026-11-26T09:31:12Z" },
            },
            page = 1, page_size = 50,
        }),
        ["ListSessions"] = (null, "200", new
        {
            items = new[]
            {
                new { id = "6f1c2a8e-3b7d-4c55-9f0e-2d4b8a9c1e77", user_agent = "Mozilla/5.0 (X11; Linux x86_64)", ip_address = "203.0.113.7", created_at = "2026-11-26T09:31:12Z", last_seen_at = "2026-11-26T09:45:00Z", expires_at = "2026-12-26T09:31:12Z", current = true },
            },
        }),
        ["RevokeSession"] = (null, "200", new { message = "The session has been ended." }),
        ["VerifyEmail"] = (new { token = "Jx3kq0Vd2m9Qe7s1bW5nYtR8uPzA4cLhG6fKiOj_-wE" }, "200",
            new { message = "Your email address is confirmed.", email = "ada@example.com", email_verified = true }),
        ["ResendVerification"] = (new { email = "ada@example.com" }, "202",
            new { message = "If the address belongs to an account that is not verified yet, a verification mail is on its way." }),
        ["RequestPasswordReset"] = (new { email = "ada@example.com" }, "202",
            new { message = "If an account uses this address, a mail with a link to reset the password is on its way." }),
        ["ConfirmPasswordReset"] = (new { token = "Jx3kq0Vd2m9Qe7s1bW5nYtR8uPzA4cLhG6fKiOj_-wE", new_password = "Difference-Engine-1822" }, "200",
            new { message = "Your password has been changed. Sign in with the new one." }),
    };

    public bool Process(OperationProcessorContext context)
    {
        var operation = context.OperationDescription.Operation;
        if (operation.OperationId is not { } id || !Examples.TryGetValue(id, out var example)) return true;
        if (example.Request is not null && operation.RequestBody?.Content.TryGetValue("application/json", out var request) == true)
            request.Example = example.Request;
        if (example.Response is not null && operation.Responses.TryGetValue(example.Status, out var response)
            && response.Content.TryGetValue("application/json", out var body))
            body.Example = example.Response;
        return true;
    }
}

public static class OpenApiOutcomes
{
    const string ProblemJson = "application/problem+json";

    /// <summary>
    /// Documents the problem+json outcomes every route of a group shares: 401 where sign-in is required,
    /// 403 origin_not_allowed on state-changing methods, 429 where a rate limit applies, and 500/503.
    /// </summary>
    public static TBuilder WithStandardProblems<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder
    {
        builder.Finally(endpoint =>
        {
            void Add(int status) => endpoint.Metadata.Add(new ProducesResponseTypeMetadata(status, typeof(Microsoft.AspNetCore.Mvc.ProblemDetails), [ProblemJson]));
            var methods = endpoint.Metadata.OfType<HttpMethodMetadata>().SelectMany(m => m.HttpMethods).ToArray();
            if (endpoint.Metadata.OfType<Microsoft.AspNetCore.Authorization.IAuthorizeData>().Any()) Add(StatusCodes.Status401Unauthorized);
            if (methods.Any(m => !HttpMethods.IsGet(m) && !HttpMethods.IsHead(m))) Add(StatusCodes.Status403Forbidden);
            if (endpoint.Metadata.OfType<Microsoft.AspNetCore.RateLimiting.EnableRateLimitingAttribute>().Any()) Add(StatusCodes.Status429TooManyRequests);
            Add(StatusCodes.Status500InternalServerError);
            Add(StatusCodes.Status503ServiceUnavailable);
        });
        return builder;
    }
}
