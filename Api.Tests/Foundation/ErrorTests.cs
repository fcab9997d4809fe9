using System.Net;
using System.Text;
using System.Text.Json;
using AccountsApi.Tests.Infrastructure;

namespace AccountsApi.Tests.Foundation;

public sealed class ErrorTests(ApiFixture fixture) : ApiTest(fixture)
{
    [Fact]
    public async Task UnknownRouteIsProblemJson404()
    {
        var response = await Factory.CreateClient().GetAsync("/no/such/route");
        await Http.AssertProblemAsync(response, HttpStatusCode.NotFound, "not_found");
    }

    [Fact]
    public async Task HealthIsHealthyWithPerCheckJson()
    {
        var response = await Factory.CreateClient().GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("healthy", body.GetProperty("status").GetString());
        Assert.Equal("healthy", body.GetProperty("checks").GetProperty("database").GetProperty("status").GetString());
    }

    [Theory]
    [InlineData("/health/live")]
    [InlineData("/health/ready")]
    public async Task LivenessAndReadinessAnswer200(string path)
    {
        var response = await Factory.CreateClient().GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task SwaggerUiAndDocumentAreServed()
    {
        var client = Factory.CreateClient();
        var docs = await client.GetAsync("/docs/index.html");
        Assert.Equal(HttpStatusCode.OK, docs.StatusCode);
        var document = await client.GetAsync("/openapi.json");
        Assert.Equal(HttpStatusCode.OK, document.StatusCode);
        Assert.Contains("\"openapi\"", await document.Content.ReadAsStringAsync());
    }
}
