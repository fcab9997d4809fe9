using System.Text.Json;
using System.Text.Json.Serialization;
using NJsonSchema.Generation;
using NSwag.Generation;

namespace AccountsApi.Infrastructure;

public static class Json
{
    /// <summary>snake_case in both directions and lowercase enum strings, as the predecessor's clients expect.</summary>
    public static void Configure(JsonSerializerOptions options)
    {
        options.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
        options.DictionaryKeyPolicy = null;
        options.PropertyNameCaseInsensitive = true;
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false));
        options.Converters.Add(new Contracts.FlexibleDateOnlyConverter());
    }
}

public static class OpenApi
{
    public const string DocumentName = "v1";

    public static IServiceCollection AddApiOpenApi(this IServiceCollection services)
    {
        services.AddEndpointsApiExplorer();
        services.AddOpenApiDocument(settings =>
        {
            settings.DocumentName = DocumentName;
            settings.Title = "AccountsApi";
            settings.Version = "v1";
            settings.Description =
                "User accounts for a static website. Browsers call it cross-origin with cookies " +
                "(`fetch(url, {credentials: \"include\"})`). Every error is RFC 9457 problem+json with a stable `code`.";
            var json = new JsonSerializerOptions(JsonSerializerDefaults.Web);
            Json.Configure(json);
            settings.OperationProcessors.Add(new OpenApiExamples());
            settings.SchemaSettings = new SystemTextJsonSchemaGeneratorSettings { SchemaType = NJsonSchema.SchemaType.OpenApi3, SerializerOptions = json };
        });
        return services;
    }

    public static WebApplication UseApiOpenApi(this WebApplication app)
    {
        app.UseOpenApi(settings => settings.Path = "/openapi.json");
        app.UseSwaggerUi(settings =>
        {
            settings.Path = "/docs";
            settings.DocumentPath = "/openapi.json";
        });
        return app;
    }

    /// <summary>The document exactly as committed in openapi.json: generated from the code, no server running.</summary>
    public static async Task<string> GenerateJsonAsync(IServiceProvider services)
    {
        var document = await services.GetRequiredService<IOpenApiDocumentGenerator>().GenerateAsync(DocumentName);
        return document.ToJson().ReplaceLineEndings("\n") + "\n";
    }
}
