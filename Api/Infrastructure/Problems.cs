using System.Diagnostics;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace AccountsApi.Infrastructure;

/// <summary>Stable, documented error codes: clients branch on these, never on titles or details.</summary>
public static class ErrorCodes
{
    public const string BadRequest = "bad_request";
    public const string MalformedJson = "malformed_json";
    public const string ValidationFailed = "validation_failed";
    public const string Unauthorized = "unauthorized";
    public const string Forbidden = "forbidden";
    public const string NotFound = "not_found";
    public const string MethodNotAllowed = "method_not_allowed";
    public const string Conflict = "conflict";
    public const string PayloadTooLarge = "payload_too_large";
    public const string UnsupportedMediaType = "unsupported_media_type";
    public const string RateLimited = "rate_limited";
    public const string InternalError = "internal_error";
    public const string DatabaseUnavailable = "database_unavailable";
    public const string RateLimiterUnavailable = "rate_limiter_unavailable";
    public const string OriginNotAllowed = "origin_not_allowed";

    public static string ForStatus(int status) => status switch
    {
        400 => BadRequest,
        401 => Unauthorized,
        403 => Forbidden,
        404 => NotFound,
        405 => MethodNotAllowed,
        409 => Conflict,
        413 => PayloadTooLarge,
        415 => UnsupportedMediaType,
        429 => RateLimited,
        503 => DatabaseUnavailable,
        >= 500 => InternalError,
        _ => BadRequest,
    };

    public static string DetailForStatus(int status) => status switch
    {
        400 => "The request could not be understood.",
        401 => "You need to sign in.",
        403 => "You are not allowed to do this.",
        404 => "Nothing is found at this address.",
        405 => "This method is not allowed on this address.",
        409 => "This conflicts with the current state.",
        413 => "The request body is too large.",
        415 => "The request body must be JSON (Content-Type: application/json).",
        429 => "Too many requests; try again later.",
        503 => "The service is temporarily unavailable; try again shortly.",
        >= 500 => "Something went wrong on our side. Quote the trace id if you report it.",
        _ => "The request could not be processed.",
    };
}

public static class Problems
{
    /// <summary>A problem+json result with a stable code. Every error the API returns goes through here.</summary>
    public static ProblemHttpResult Problem(int status, string code, string detail, string? title = null) =>
        TypedResults.Problem(detail: detail, statusCode: status, title: title, extensions: new Dictionary<string, object?> { ["code"] = code });

    /// <summary>400 with per-field errors (snake_case field names) and a one-line summary in `detail`.</summary>
    public static ValidationProblem Validation(IDictionary<string, string[]> errors, string code = ErrorCodes.ValidationFailed) =>
        TypedResults.ValidationProblem(errors,
            detail: string.Join("; ", errors.Select(e => $"{e.Key}: {string.Join(", ", e.Value)}")),
            title: "The request has invalid fields.",
            extensions: new Dictionary<string, object?> { ["code"] = code });

    public static ValidationProblem Validation(FluentValidation.Results.ValidationResult result) =>
        Validation(result.Errors
            .GroupBy(e => e.PropertyName)
            .ToDictionary(g => g.Key, g => g.Select(e => e.ErrorMessage).Distinct().ToArray()));

    /// <summary>
    /// Writes a problem+json answer directly, for middleware and authentication events that have no
    /// result to return. The code defaults to the status's own (see <see cref="ErrorCodes.ForStatus"/>).
    /// </summary>
    public static Task WriteProblemAsync(this HttpContext http, int status, string detail, string? code = null, string? title = null)
    {
        http.Response.StatusCode = status;
        var problem = new ProblemDetails { Status = status, Detail = detail, Title = title };
        if (code is not null) problem.Extensions["code"] = code;
        return http.RequestServices.GetRequiredService<IProblemDetailsService>()
            .WriteAsync(new ProblemDetailsContext { HttpContext = http, ProblemDetails = problem }).AsTask();
    }

    public static IServiceCollection AddApiProblemDetails(this IServiceCollection services)
    {
        services.AddProblemDetails(options => options.CustomizeProblemDetails = context =>
        {
            var problem = context.ProblemDetails;
            var status = problem.Status ?? context.HttpContext.Response.StatusCode;
            problem.Extensions.TryAdd("code", ErrorCodes.ForStatus(status));
            if (string.IsNullOrWhiteSpace(problem.Detail)) problem.Detail = ErrorCodes.DetailForStatus(status);
            // snake_case like every other body
            problem.Extensions.Remove("traceId");
            problem.Extensions["trace_id"] = Activity.Current?.Id ?? context.HttpContext.TraceIdentifier;
        });
        services.AddExceptionHandler<ApiExceptionHandler>();
        // Binding errors (bad JSON, wrong content type, too large) become exceptions the handler turns into problems.
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        return services;
    }
}

/// <summary>Maps exceptions to problem+json. Never writes a stack trace or an exception message to the client.</summary>
public sealed class ApiExceptionHandler(IProblemDetailsService problemDetails, ILogger<ApiExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken ct)
    {
        var (status, code, detail) = Classify(exception);
        if (status >= 500 && status != 503) logger.LogError(exception, "Unhandled exception on {Method} {Path}", http.Request.Method, http.Request.Path);
        else if (status == 503) logger.LogWarning("{Code} on {Method} {Path}: {Error}", code, http.Request.Method, http.Request.Path, exception.GetBaseException().Message);

        http.Response.StatusCode = status;
        if (status == 503) http.Response.Headers.RetryAfter = "5";
        var problem = FieldOf(exception) is { } field
            ? new HttpValidationProblemDetails(new Dictionary<string, string[]> { [field] = ["has the wrong type or format"] })
            {
                Detail = $"{field}: has the wrong type or format",
            }
            : new ProblemDetails { Detail = detail };
        problem.Status = status;
        problem.Extensions["code"] = problem is HttpValidationProblemDetails ? ErrorCodes.ValidationFailed : code;
        return await problemDetails.TryWriteAsync(new ProblemDetailsContext { HttpContext = http, Exception = exception, ProblemDetails = problem });
    }

    static (int Status, string Code, string Detail) Classify(Exception exception) => exception switch
    {
        BadHttpRequestException { InnerException: JsonException } =>
            (400, ErrorCodes.MalformedJson, "The request body is not valid JSON or does not match the expected shape."),
        BadHttpRequestException { StatusCode: 413 } => (413, ErrorCodes.PayloadTooLarge, ErrorCodes.DetailForStatus(413)),
        BadHttpRequestException { StatusCode: 415 } => (415, ErrorCodes.UnsupportedMediaType, ErrorCodes.DetailForStatus(415)),
        BadHttpRequestException bad => (bad.StatusCode, ErrorCodes.ForStatus(bad.StatusCode),
            bad.StatusCode == 400 ? "The request is malformed: a required body or parameter is missing or invalid." : ErrorCodes.DetailForStatus(bad.StatusCode)),
        _ when IsDatabaseUnavailable(exception) => (503, ErrorCodes.DatabaseUnavailable, ErrorCodes.DetailForStatus(503)),
        StackExchange.Redis.RedisException => (503, ErrorCodes.RateLimiterUnavailable, ErrorCodes.DetailForStatus(503)),
        _ => (500, ErrorCodes.InternalError, ErrorCodes.DetailForStatus(500)),
    };

    /// <summary>The JSON field a type/format error is about ("$.date_of_birth" → "date_of_birth"), when there is one.</summary>
    static string? FieldOf(Exception exception) =>
        exception is BadHttpRequestException { InnerException: JsonException { Path: { Length: > 2 } path } } && path.StartsWith("$.", StringComparison.Ordinal)
            && exception.InnerException.InnerException is not JsonException // a syntax error, not one field's value
            ? path[2..]
            : null;

    static bool IsDatabaseUnavailable(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is NpgsqlException { IsTransient: true } or SocketException or TimeoutException) return true;
            if (e is PostgresException { SqlState: "57P01" or "57P02" or "57P03" or "53300" }) return true; // shutdown, too many connections
        }
        return false;
    }
}
