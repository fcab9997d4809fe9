using AccountsApi.Infrastructure;
using AccountsApi.Tests.Infrastructure;

namespace AccountsApi.Tests.Foundation;

public sealed class OpenApiDocumentTests(ApiFixture fixture) : ApiTest(fixture)
{
    [Fact]
    public async Task CommittedOpenApiJsonMatchesTheCode()
    {
        var committed = await File.ReadAllTextAsync(Path.Combine(Repository.Root, "openapi.json"));
        var generated = await OpenApi.GenerateJsonAsync(Factory.Services);
        Assert.True(committed.ReplaceLineEndings("\n") == generated,
            "openapi.json is out of date: build the solution locally (the build regenerates it) and commit it.");
    }
}
