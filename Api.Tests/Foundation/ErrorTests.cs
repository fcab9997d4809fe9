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
    public async Task AnUnhandledErrorIsA500ProblemWithATraceIdAndNoDetailsOfTheFailure()
    {
        // A database that does not exist fails every query with a non-transient error.
        var missing = new Npgsql.NpgsqlConnectionStringBuilder(Fixture.ConnectionString) { Database = "no_such_database" }.ConnectionString;
        await using var broken = Factory.WithSettings(new Dictionary<string, string?> { ["DATABASE_URL"] = missing, ["MIGRATE_ON_START"] = "false" });
        var response = await Users.PostRegisterAsync(Users.Browser(broken), Users.RegisterBody("oops"));
        var text = await response.Content.ReadAsStringAsync();
        var problem = await Http.AssertProblemAsync(response, HttpStatusCode.InternalServerError, "internal_error");
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("trace_id").GetString()));
        Assert.DoesNotContain("no_such_database", text);
        Assert.DoesNotContain("Npgsql", text);
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
    public async Task ApiAnswersAreNeverCachedOrFramedOrSniffed()
    {
        var response = await Factory.CreateClient().GetAsync("/auth/session");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.True(response.Headers.CacheControl?.NoStore);
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
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
