using Serilog;
using Serilog.Events;
using Serilog.Formatting.Compact;

namespace AccountsApi.Infrastructure;

public static class Logging
{
    /// <summary>Readable console in Development, one JSON object per line elsewhere. Bodies and headers are never logged.</summary>
    public static WebApplicationBuilder AddApiLogging(this WebApplicationBuilder builder)
    {
        var level = Enum.TryParse<LogEventLevel>(builder.Configuration["LOG_LEVEL"], ignoreCase: true, out var parsed) ? parsed : LogEventLevel.Information;
        var development = builder.Environment.IsDevelopment();
        builder.Services.AddSerilog((services, config) =>
        {
            config.MinimumLevel.Is(level)
                .MinimumLevel.Override("Microsoft.AspNetCore", LogEventLevel.Warning)
                .MinimumLevel.Override("FluentMigrator", LogEventLevel.Warning)
                .Enrich.FromLogContext()
                .Enrich.WithProperty("service", "accounts-api");
            if (development)
                config.WriteTo.Console(outputTemplate: "[{Timestamp:HH:mm:ss} {Level:u3}] {SourceContext}: {Message:lj}{NewLine}{Exception}");
            else
                config.WriteTo.Console(new RenderedCompactJsonFormatter());
            // Extra sinks registered in DI (none in the app; the tests add one to read what is logged).
            foreach (var sink in services.GetServices<Serilog.Core.ILogEventSink>()) config.WriteTo.Sink(sink);
        });
        return builder;
    }

    /// <summary>One line per request: method, path (never the query string, which may carry tokens), status, time.</summary>
    public static IApplicationBuilder UseApiRequestLogging(this IApplicationBuilder app) =>
        app.UseSerilogRequestLogging(options =>
        {
            options.GetLevel = (http, _, exception) =>
                exception is not null || http.Response.StatusCode >= 500 ? LogEventLevel.Error
                : http.Request.Path.StartsWithSegments("/health") ? LogEventLevel.Debug
                : LogEventLevel.Information;
            options.EnrichDiagnosticContext = (diagnostics, http) =>
            {
                diagnostics.Set("ClientIp", http.Connection.RemoteIpAddress?.ToString());
                diagnostics.Set("TraceId", http.TraceIdentifier);
            };
        });
}
