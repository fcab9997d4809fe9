using System.Net;
using System.Text.Json;
using AccountsApi.Tests.Infrastructure;

namespace AccountsApi.Tests.Accounts;

public sealed class ProfileTests(ApiFixture fixture) : ApiTest(fixture)
{
    [Fact]
    public async Task LoginAnswersWithTheLastLoginJustRecorded()
    {
        await Users.RegisterAsync(Users.Browser(Factory), "lena");
        var account = await Http.JsonAsync(await Users.LoginAsync(Users.Browser(Factory), "lena"), HttpStatusCode.OK);
        var lastLogin = DateTimeOffset.Parse(account.GetProperty("last_login").GetString()!);
        Assert.True(DateTimeOffset.UtcNow - lastLogin < TimeSpan.FromMinutes(1));
    }

    [Fact]
    public async Task PatchWithAnExplicitNullClearsTheDateOfBirthWhileAbsentLeavesItAlone()
    {
        var signedIn = await Users.SignUpAndInAsync(Factory, "dora");
        var kept = await Http.JsonAsync(await Users.PatchJsonAsync(signedIn.Client, "/accounts/me", new { firstname = "Dorothy" }), HttpStatusCode.OK);
        Assert.Equal("1990-04-01", kept.GetProperty("date_of_birth").GetString());

        var changed = await Http.JsonAsync(await Users.PatchJsonAsync(signedIn.Client, "/accounts/me",
            new Dictionary<string, object?> { ["date_of_birth"] = "1985-02-03T00:00:00" }), HttpStatusCode.OK);
        Assert.Equal("1985-02-03", changed.GetProperty("date_of_birth").GetString());

        var cleared = await Http.JsonAsync(await Users.PatchJsonAsync(signedIn.Client, "/accounts/me",
            new Dictionary<string, object?> { ["date_of_birth"] = null }), HttpStatusCode.OK);
        Assert.Equal(JsonValueKind.Null, cleared.GetProperty("date_of_birth").ValueKind);
        Assert.Equal("Dorothy", cleared.GetProperty("firstname").GetString());
    }

    [Fact]
    public async Task AFieldOfTheWrongTypeIsAPerFieldError()
    {
        var signedIn = await Users.SignUpAndInAsync(Factory, "tess");
        var response = await signedIn.Client.PatchAsync("/accounts/me",
            new StringContent("""{"date_of_birth":"next tuesday"}""", System.Text.Encoding.UTF8, "application/json"));
        var problem = await Http.AssertProblemAsync(response, HttpStatusCode.BadRequest, "validation_failed");
        Assert.True(problem.GetProperty("errors").TryGetProperty("date_of_birth", out _));
        Assert.StartsWith("date_of_birth:", problem.GetProperty("detail").GetString());
    }
}
