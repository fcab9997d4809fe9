using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using AccountsApi.Tests.Infrastructure;
using Dapper;

namespace AccountsApi.Tests.Accounts;

public sealed class RegistrationTests(ApiFixture fixture) : ApiTest(fixture)
{
    async Task<long> UserCountAsync()
    {
        await using var db = await Db.OpenAsync(Fixture);
        return await db.ExecuteScalarAsync<long>("select count(*) from users");
    }

    async Task<JsonElement> AssertRefusedAsync(Dictionary<string, object?> body, string field)
    {
        var response = await Users.PostRegisterAsync(Users.Browser(Factory), body);
        var problem = await Http.AssertProblemAsync(response, HttpStatusCode.BadRequest, "validation_failed");
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out var messages), $"no errors.{field} in {problem}");
        Assert.True(messages.GetArrayLength() > 0);
        Assert.All(messages.EnumerateArray(), m => Assert.False(string.IsNullOrWhiteSpace(m.GetString())));
        Assert.Equal(0, await UserCountAsync());
        return problem;
    }

    [Fact]
    public async Task RegistrationReturnsTheNewAccountWithALocationHeader()
    {
        var body = Users.RegisterBody("alice", "Alice@Example.com");
        var response = await Users.PostRegisterAsync(Users.Browser(Factory), body);
        var text = await response.Content.ReadAsStringAsync();
        var account = await Http.JsonAsync(response, HttpStatusCode.Created);

        Assert.Equal("/accounts/me", response.Headers.Location?.OriginalString);
        Assert.Equal(JsonValueKind.Number, account.GetProperty("id").ValueKind);
        Assert.True(account.GetProperty("id").GetInt64() > 0);
        Assert.Equal("alice", account.GetProperty("username").GetString());
        Assert.Equal("Alice@Example.com", account.GetProperty("email").GetString());
        Assert.Equal("Alice", account.GetProperty("firstname").GetString());
        Assert.Equal("Liddell", account.GetProperty("lastname").GetString());
        Assert.Equal("1990-04-01", account.GetProperty("date_of_birth").GetString());
        Assert.Equal("active", account.GetProperty("status").GetString());
        Assert.Equal("user", account.GetProperty("role").GetString());
        Assert.False(account.GetProperty("email_verified").GetBoolean());
        Assert.Equal(JsonValueKind.Null, account.GetProperty("last_login").ValueKind);
        var created = DateTimeOffset.Parse(account.GetProperty("created_at").GetString()!);
        Assert.True(Math.Abs((DateTimeOffset.UtcNow - created).TotalMinutes) < 5, $"created_at {created}");
        Assert.True(DateTimeOffset.TryParse(account.GetProperty("updated_at").GetString(), out _));

        Assert.DoesNotContain(Users.Password, text);
        Assert.DoesNotContain("password", text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("hash", text, StringComparison.OrdinalIgnoreCase);

        await using var db = await Db.OpenAsync(Fixture);
        var row = await db.QuerySingleAsync<(long Id, string Email, string PasswordHash)>("select id, email, password_hash from users");
        Assert.Equal(account.GetProperty("id").GetInt64(), row.Id);
        Assert.Equal("Alice@Example.com", row.Email);
        Assert.DoesNotContain(Users.Password, row.PasswordHash);
        Assert.DoesNotContain(row.PasswordHash, text);
    }

    [Fact]
    public async Task RegistrationAndLoginWorkWithTheRealDefaultBcryptCostOf11()
    {
        await using var factory = Factory.WithSettings(new Dictionary<string, string?> { ["BCRYPT_WORK_FACTOR"] = "11" });
        await Users.RegisterAsync(Users.Browser(factory), "carol");

        await using var db = await Db.OpenAsync(Fixture);
        var hash = await db.ExecuteScalarAsync<string>("select password_hash from users where username = 'carol'");
        Assert.Matches(new Regex(@"\$2[abxy]\$11\$"), hash!);

        var login = await Users.PostLoginAsync(Users.Browser(factory), "carol", Users.Password);
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        var wrong = await Users.PostLoginAsync(Users.Browser(factory), "carol", Users.OtherPassword);
        await Http.AssertProblemAsync(wrong, HttpStatusCode.Unauthorized, "invalid_credentials");
    }

    [Theory]
    [InlineData("2001-02-03", "2001-02-03")]
    [InlineData("2001-02-03T00:00:00", "2001-02-03")]
    [InlineData(null, null)]
    public async Task DateOfBirthAcceptsADateAMidnightDateTimeOrNull(string? sent, string? stored)
    {
        var body = Users.RegisterBody();
        body["date_of_birth"] = sent;
        var account = await Http.JsonAsync(await Users.PostRegisterAsync(Users.Browser(Factory), body), HttpStatusCode.Created);
        Assert.Equal(stored, account.GetProperty("date_of_birth").GetString());

        await using var db = await Db.OpenAsync(Fixture);
        var row = await db.ExecuteScalarAsync<DateTime?>("select date_of_birth from users");
        Assert.Equal(stored, row?.ToString("yyyy-MM-dd"));
    }

    [Fact]
    public async Task RegistrationWithoutDateOfBirthIsAccepted()
    {
        var body = Users.RegisterBody();
        body.Remove("date_of_birth");
        var account = await Http.JsonAsync(await Users.PostRegisterAsync(Users.Browser(Factory), body), HttpStatusCode.Created);
        Assert.Equal(JsonValueKind.Null, account.GetProperty("date_of_birth").ValueKind);
    }

    [Fact]
    public async Task DateOfBirthInTheFutureIsRefused()
    {
        var body = Users.RegisterBody();
        body["date_of_birth"] = DateTime.UtcNow.AddDays(2).ToString("yyyy-MM-dd");
        await AssertRefusedAsync(body, "date_of_birth");
    }

    [Fact]
    public async Task NamesWithQuotesPunctuationAndEmojiAreStoredVerbatim()
    {
        const string first = "Zoë \"Zed\" O'Brien-Smith 🦄";
        const string last = "d'Artagnan, Jr. <b>&amp;</b> 中文 ✓";
        var body = Users.RegisterBody();
        body["firstname"] = first;
        body["lastname"] = last;
        var client = Users.Browser(Factory);
        var account = await Http.JsonAsync(await Users.PostRegisterAsync(client, body), HttpStatusCode.Created);
        Assert.Equal(first, account.GetProperty("firstname").GetString());
        Assert.Equal(last, account.GetProperty("lastname").GetString());

        await using var db = await Db.OpenAsync(Fixture);
        var row = await db.QuerySingleAsync<(string First, string Last)>("select firstname, lastname from users");
        Assert.Equal(first, row.First);
        Assert.Equal(last, row.Last);

        await Users.LoginAsync(client, "alice");
        var me = await Http.JsonAsync(await client.GetAsync("/accounts/me"), HttpStatusCode.OK);
        Assert.Equal(first, me.GetProperty("firstname").GetString());
        Assert.Equal(last, me.GetProperty("lastname").GetString());
    }

    [Theory]
    [InlineData("firstname", "Ali\0ce")]
    [InlineData("firstname", "Ali\rce")]
    [InlineData("lastname", "Lid\ndell")]
    [InlineData("firstname", "")]
    [InlineData("lastname", "")]
    public async Task NamesThatAreEmptyOrHoldControlCharactersAreRefused(string field, string value)
    {
        var body = Users.RegisterBody();
        body[field] = value;
        await AssertRefusedAsync(body, field);
    }

    [Theory]
    [InlineData("firstname")]
    [InlineData("lastname")]
    public async Task NamesLongerThan100CharactersAreRefusedAnd100AreAccepted(string field)
    {
        var body = Users.RegisterBody();
        body[field] = new string('x', 101);
        await AssertRefusedAsync(body, field);

        body[field] = new string('x', 100);
        var account = await Http.JsonAsync(await Users.PostRegisterAsync(Users.Browser(Factory), body), HttpStatusCode.Created);
        Assert.Equal(new string('x', 100), account.GetProperty(field).GetString());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(null)]
    public async Task TermsMustBeAccepted(bool? accept)
    {
        var body = Users.RegisterBody();
        if (accept is null) body.Remove("accept_terms");
        else body["accept_terms"] = accept;
        await AssertRefusedAsync(body, "accept_terms");
    }

    [Theory]
    [InlineData("ab")]
    [InlineData("abcdefghijklmnopqrstuvwxyz0123456")] // 33
    [InlineData("has space")]
    [InlineData("semi;colon")]
    [InlineData("emoji🦄")]
    [InlineData("")]
    public async Task InvalidUsernamesAreRefused(string username)
    {
        var body = Users.RegisterBody();
        body["username"] = username;
        await AssertRefusedAsync(body, "username");
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("a.b-c_d9")]
    [InlineData("abcdefghijklmnopqrstuvwxyz012345")] // 32
    public async Task UsernamesOfLettersDigitsAndUnderscoreDashDotAreAccepted(string username)
    {
        var body = Users.RegisterBody(username, "someone@example.com");
        var account = await Http.JsonAsync(await Users.PostRegisterAsync(Users.Browser(Factory), body), HttpStatusCode.Created);
        Assert.Equal(username, account.GetProperty("username").GetString());
    }

    [Theory]
    [InlineData("not-an-email")]
    [InlineData("@example.com")]
    [InlineData("alice@")]
    [InlineData("")]
    public async Task InvalidEmailsAreRefused(string email)
    {
        var body = Users.RegisterBody();
        body["email"] = email;
        await AssertRefusedAsync(body, "email");
    }

    [Theory]
    [InlineData("Short1a")]          // 7 characters
    [InlineData("nouppercase1")]
    [InlineData("NOLOWERCASE1")]
    [InlineData("NoDigitsHere")]
    [InlineData("Password1")]        // blocklisted, case-insensitively
    [InlineData("Qwerty123")]        // blocklisted, case-insensitively
    public async Task WeakPasswordsAreRefused(string password)
    {
        await AssertRefusedAsync(Users.RegisterBody(password: password), "password");
    }

    [Fact]
    public async Task PasswordsLongerThan128CharactersAreRefusedAnd128AreAccepted()
    {
        var tooLong = "Aa1" + new string('x', 126);
        await AssertRefusedAsync(Users.RegisterBody(password: tooLong), "password");

        var longest = "Aa1" + new string('y', 125);
        var client = Users.Browser(Factory);
        await Http.JsonAsync(await Users.PostRegisterAsync(client, Users.RegisterBody(password: longest)), HttpStatusCode.Created);
        // no 72-byte truncation: a password that differs only after byte 72 must not work
        var truncatedTwin = longest[..100] + new string('z', 28);
        var wrong = await Users.PostLoginAsync(client, "alice", truncatedTwin);
        await Http.AssertProblemAsync(wrong, HttpStatusCode.Unauthorized, "invalid_credentials");
        await Users.LoginAsync(client, "alice", longest);
    }

    [Fact]
    public async Task ValidationDetailIsAOneLineSummaryNamingTheField()
    {
        var problem = await AssertRefusedAsync(Users.RegisterBody(password: "NoDigitsHere"), "password");
        var detail = problem.GetProperty("detail").GetString()!;
        Assert.StartsWith("password: ", detail);
        Assert.Contains("digit", detail, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain('\n', detail);
        Assert.DoesNotContain("NoDigitsHere", problem.GetRawText());
    }

    [Fact]
    public async Task SeveralInvalidFieldsAreAllReported()
    {
        var body = Users.RegisterBody("x", "nope", "weak");
        body["accept_terms"] = false;
        var problem = await AssertRefusedAsync(body, "username");
        var errors = problem.GetProperty("errors");
        foreach (var field in new[] { "email", "password", "accept_terms" })
            Assert.True(errors.TryGetProperty(field, out _), $"no errors.{field} in {errors}");
    }

    [Fact]
    public async Task ADuplicateUsernameIsRefusedCaseInsensitively()
    {
        await Users.RegisterAsync(Users.Browser(Factory), "alice", "first@example.com");
        var response = await Users.PostRegisterAsync(Users.Browser(Factory), Users.RegisterBody("ALICE", "second@example.com"));
        await Http.AssertProblemAsync(response, HttpStatusCode.Conflict, "username_taken");
        Assert.Equal(1, await UserCountAsync());
    }

    [Theory]
    [InlineData("bob@example.com", "Bob@Example.com")]
    [InlineData("bob@example.com", "BOB@EXAMPLE.COM")]
    [InlineData("fiona@example.com", "\uFB01ona@example.com")] // "ﬁ" ligature: NFKC turns it into "fi"
    public async Task ADuplicateEmailIsRefusedAfterCaseFoldingAndNormalisation(string first, string second)
    {
        await Users.RegisterAsync(Users.Browser(Factory), "first", first);
        var response = await Users.PostRegisterAsync(Users.Browser(Factory), Users.RegisterBody("second", second));
        await Http.AssertProblemAsync(response, HttpStatusCode.Conflict, "email_taken");
        Assert.Equal(1, await UserCountAsync());
    }

    [Fact]
    public async Task FiftyConcurrentRegistrationsWithOneEmailCreateExactlyOneAccount()
    {
        var responses = await Task.WhenAll(Enumerable.Range(0, 50).Select(i =>
            Users.PostRegisterAsync(Users.Browser(Factory), Users.RegisterBody($"racer{i}", "race@example.com"))));

        var statuses = responses.Select(r => (int)r.StatusCode).ToArray();
        Assert.Equal(1, statuses.Count(s => s == 201));
        Assert.Equal(49, statuses.Count(s => s == 409));
        foreach (var response in responses.Where(r => r.StatusCode == HttpStatusCode.Conflict))
            await Http.AssertProblemAsync(response, HttpStatusCode.Conflict, "email_taken");
        Assert.Equal(1, await UserCountAsync());
    }

    [Fact]
    public async Task MalformedJsonIsRefusedAndCreatesNoAccount()
    {
        var content = new StringContent("{\"username\": \"alice\", \"email\": ", Encoding.UTF8, "application/json");
        var response = await Users.Browser(Factory).PostAsync("/accounts/register", content);
        await Http.AssertProblemAsync(response, HttpStatusCode.BadRequest, "malformed_json");
        Assert.Equal(0, await UserCountAsync());
    }

    [Fact]
    public async Task APlainTextBodyIsRefusedWith415AndCreatesNoAccount()
    {
        var json = JsonSerializer.Serialize(Users.RegisterBody());
        var response = await Users.Browser(Factory).PostAsync("/accounts/register", new StringContent(json, Encoding.UTF8, "text/plain"));
        await Http.AssertProblemAsync(response, HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");
        Assert.Equal(0, await UserCountAsync());
    }

    [Fact]
    public async Task ABodyOverOneMegabyteIsRefusedWith413AndCreatesNoAccount()
    {
        var body = Users.RegisterBody();
        body["firstname"] = new string('x', 1024 * 1024 + 10);
        var response = await Users.Browser(Factory).PostAsync("/accounts/register",
            new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"));
        await Http.AssertProblemAsync(response, HttpStatusCode.RequestEntityTooLarge, "payload_too_large");
        Assert.Equal(0, await UserCountAsync());
    }

    [Fact]
    public async Task RegistrationWritesACreatedAuditRowWithIpAndUserAgent()
    {
        var account = await Users.RegisterAsync(Users.Browser(Factory));
        await using var db = await Db.OpenAsync(Fixture);
        var rows = (await db.QueryAsync<(long? UserId, string? IpAddress, string? UserAgent)>(
            "select user_id, ip_address, user_agent from account_logs where action = 'created'")).ToList();
        var row = Assert.Single(rows);
        Assert.Equal(account.GetProperty("id").GetInt64(), row.UserId);
        Assert.False(string.IsNullOrEmpty(row.IpAddress));
        Assert.Equal(Users.UserAgent, row.UserAgent);
        var logged = await db.ExecuteScalarAsync<string>("select string_agg(coalesce(old_value,'') || coalesce(new_value,''), '') from account_logs");
        Assert.DoesNotContain(Users.Password, logged ?? "");
    }

    [Fact]
    public async Task RegistrationSeesJsonPropertiesInSnakeCaseOnly()
    {
        // camelCase names are not the contract: dateOfBirth/acceptTerms must not be understood as the real fields
        var response = await Users.Browser(Factory).PostAsJsonAsync("/accounts/register", new
        {
            username = "alice", email = "alice@example.com", password = Users.Password,
            firstname = "Alice", lastname = "Liddell", acceptTerms = true,
        });
        var problem = await Http.AssertProblemAsync(response, HttpStatusCode.BadRequest, "validation_failed");
        Assert.True(problem.GetProperty("errors").TryGetProperty("accept_terms", out _));
    }
}
