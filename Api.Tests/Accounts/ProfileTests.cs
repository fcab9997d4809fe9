using System.Net;
using System.Text.Json;
using AccountsApi.Tests.Infrastructure;
using Dapper;

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

    [Fact]
    public async Task DeletionRemovesThePersonalValuesTheAuditTrailRecordedButKeepsItsRows()
    {
        var signedIn = await Users.SignUpAndInAsync(Factory, "gwen");
        await Http.JsonAsync(await Users.PatchJsonAsync(signedIn.Client, "/accounts/me", new { firstname = "Gwendolyn", email = "gwen.new@example.com" }), HttpStatusCode.OK);
        await Http.JsonAsync(await Users.DeleteWithJsonAsync(signedIn.Client, "/accounts/me", new { password = Users.Password }), HttpStatusCode.OK);

        await using var db = await Db.OpenAsync(Fixture);
        var rows = (await db.QueryAsync<(string Action, string? OldValue, string? NewValue)>(
            "select action, old_value, new_value from account_logs where user_id = @UserId", new { signedIn.UserId })).ToList();
        Assert.Contains(rows, r => r.Action == "updated");
        Assert.Contains(rows, r => r.Action == "deleted");
        Assert.DoesNotContain(rows, r => (r.OldValue + r.NewValue).Contains("Gwen") || (r.OldValue + r.NewValue).Contains("@"));
        Assert.Equal(0, await db.ExecuteScalarAsync<long>("select count(*) from email_outbox where to_address like 'gwen%'"));
    }
}
