using AccountsApi.Infrastructure;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace AccountsApi.Endpoints;

public static class HealthEndpoints
{
    public const string ReadyTag = "ready";

    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/health").WithTags("Health").DisableRateLimiting();
        group.MapGet("", GetHealth).WithName(nameof(GetHealth)).Produces<HealthResponse>(StatusCodes.Status503ServiceUnavailable)
            .WithSummary("Overall health: 200 when every dependency answers, 503 (within about 2 s) when PostgreSQL does not.");
        group.MapGet("/live", GetLiveness).WithName(nameof(GetLiveness))
            .WithSummary("Liveness: the process is up. Checks no dependency.");
        group.MapGet("/ready", GetReadiness).WithName(nameof(GetReadiness)).Produces<HealthResponse>(StatusCodes.Status503ServiceUnavailable)
            .WithSummary("Readiness: the dependencies needed to serve traffic (PostgreSQL) answer.");
        return routes;
    }

    public static IServiceCollection AddApiHealthChecks(this IServiceCollection services)
    {
        services.AddSingleton<HealthProbeDataSource>();
        services.AddHealthChecks().AddNpgSql(
            sp => sp.GetRequiredService<HealthProbeDataSource>().DataSource,
            name: "database",
            tags: [ReadyTag],
            timeout: TimeSpan.FromSeconds(2));
        return services;
    }

    /// <summary>
    /// A tiny pool of its own with 2 s connect and command timeouts: Npgsql does not abandon a connect
    /// on cancellation, so a hung database would otherwise hold the probe for the full connect timeout.
    /// </summary>
    public sealed class HealthProbeDataSource(Data.ConnectionString main) : IDisposable
    {
        public NpgsqlDataSource DataSource { get; } = new NpgsqlDataSourceBuilder(
            new NpgsqlConnectionStringBuilder(main.Value) { Timeout = 2, CommandTimeout = 2, MinPoolSize = 0, MaxPoolSize = 2 }.ConnectionString)
            .Build();

        public void Dispose() => DataSource.Dispose();
    }

    public static Task<Results<Ok<HealthResponse>, JsonHttpResult<HealthResponse>>> GetHealth(HealthCheckService health, CancellationToken ct) =>
        Check(health, _ => true, ct);

    public static Ok<HealthResponse> GetLiveness() =>
        TypedResults.Ok(new HealthResponse("healthy", new Dictionary<string, HealthCheckResponse>(), 0));

    public static Task<Results<Ok<HealthResponse>, JsonHttpResult<HealthResponse>>> GetReadiness(HealthCheckService health, CancellationToken ct) =>
        Check(health, r => r.Tags.Contains(ReadyTag), ct);

    static async Task<Results<Ok<HealthResponse>, JsonHttpResult<HealthResponse>>> Check(
        HealthCheckService health, Func<HealthCheckRegistration, bool> predicate, CancellationToken ct)
    {
        var report = await health.CheckHealthAsync(predicate, ct);
        var response = new HealthResponse(
            Name(report.Status),
            report.Entries.ToDictionary(e => e.Key, e => new HealthCheckResponse(
                Name(e.Value.Status),
                Math.Round(e.Value.Duration.TotalMilliseconds, 1),
                e.Value.Status == HealthStatus.Healthy ? null : "unreachable")),
            Math.Round(report.TotalDuration.TotalMilliseconds, 1));
        return report.Status == HealthStatus.Healthy
            ? TypedResults.Ok(response)
            : TypedResults.Json(response, statusCode: StatusCodes.Status503ServiceUnavailable);
    }

    static string Name(HealthStatus status) => status switch
    {
        HealthStatus.Healthy => "healthy",
        HealthStatus.Degraded => "degraded",
        _ => "unhealthy",
    };
}

public sealed record HealthResponse(string Status, IReadOnlyDictionary<string, HealthCheckResponse> Checks, double DurationMs);

public sealed record HealthCheckResponse(
    string Status,
    double DurationMs,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] string? Error);
