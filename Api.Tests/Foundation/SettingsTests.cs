using AccountsApi.Data;
using AccountsApi.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace AccountsApi.Tests.Foundation;

public sealed class SettingsTests(ApiFixture fixture) : ApiTest(fixture)
{
    [Fact]
    public void DatabaseUrlSettingReachesTheApp()
    {
        var used = new NpgsqlConnectionStringBuilder(Factory.Services.GetRequiredService<NpgsqlDataSource>().ConnectionString);
        var expected = new NpgsqlConnectionStringBuilder(Fixture.ConnectionString);
        Assert.Equal(expected.Port, used.Port);
        Assert.Equal(expected.Database, used.Database);
    }

    [Theory]
    [InlineData("postgres://alice:s%40cret@db.example:6543/accounts?sslmode=require", "db.example", 6543, "accounts", "alice", "s@cret")]
    [InlineData("postgresql://bob@localhost/app", "localhost", 5432, "app", "bob", null)]
    [InlineData("Host=h;Port=7;Database=d;Username=u;Password=p", "h", 7, "d", "u", "p")]
    public void DatabaseUrlAcceptsUrlsAndConnectionStrings(string url, string host, int port, string database, string user, string? password)
    {
        var built = new NpgsqlConnectionStringBuilder(Database.ToConnectionString(url, new()));
        Assert.Equal(host, built.Host);
        Assert.Equal(port, built.Port);
        Assert.Equal(database, built.Database);
        Assert.Equal(user, built.Username);
        Assert.Equal(password, built.Password);
        Assert.Equal(50, built.MaxPoolSize);
    }

    [Fact]
    public void EveryMigrationFileHasAMigrationAndViceVersa()
    {
        var files = SchemaMigrator.EmbeddedScripts().Order().ToArray();
        var migrations = SchemaMigrator.Migrations().OrderBy(m => m.Version).ToArray();
        Assert.NotEmpty(files);
        Assert.Equal(files, migrations.Select(m => m.Script).Order());
        // numbered files run in their number order
        Assert.All(migrations, m => Assert.StartsWith(m.Version.ToString("0000"), m.Script));
    }
}

public sealed class DocumentationTests
{
    [Fact]
    public void EnvExampleListsEverySetting()
    {
        var settings = typeof(Program).Assembly.GetTypes()
            .Where(t => t.Namespace == "AccountsApi.Infrastructure" && t.Name.EndsWith("Options") || t.Name == "RateLimitSettings")
            .SelectMany(t => t.GetProperties())
            .Select(p => p.GetCustomAttributes(typeof(Microsoft.Extensions.Configuration.ConfigurationKeyNameAttribute), false)
                .Cast<Microsoft.Extensions.Configuration.ConfigurationKeyNameAttribute>().FirstOrDefault()?.Name)
            .OfType<string>()
            .ToHashSet();
        Assert.Contains("JWT_SIGNING_KEY", settings);
        Assert.True(settings.Count > 30, $"found only {settings.Count} settings by reflection");
        var example = File.ReadAllLines(Path.Combine(Repository.Root, ".env.example"))
            .Where(l => l.Length > 0 && !l.StartsWith('#') && l.Contains('='))
            .Select(l => l[..l.IndexOf('=')])
            .ToHashSet();
        var readme = File.ReadAllText(Path.Combine(Repository.Root, "README.md"));
        Assert.All(settings, name => Assert.Contains(name, example));
        Assert.All(settings, name => Assert.Contains(name, readme));
    }
}

public sealed class RedisSettingTests
{
    [Theory]
    [InlineData("redis://cache.internal:6380", "cache.internal:6380,abortConnect=false,connectTimeout=2000,syncTimeout=1000,asyncTimeout=1000")]
    [InlineData("redis://:s3cret@cache:6379/2", "cache:6379,abortConnect=false,connectTimeout=2000,syncTimeout=1000,asyncTimeout=1000,password=s3cret,defaultDatabase=2")]
    [InlineData("rediss://app:pw@cache:6390", "cache:6390,abortConnect=false,connectTimeout=2000,syncTimeout=1000,asyncTimeout=1000,password=pw,user=app,ssl=true")]
    [InlineData("localhost:6379,password=x", "localhost:6379,password=x")]
    public void RedisUrlBecomesAStackExchangeConfiguration(string url, string expected) =>
        Assert.Equal(expected, AccountsApi.Infrastructure.RateLimits.RedisConnection.ToConfiguration(url));
}

public sealed class PasswordPolicyTests
{
    [Fact]
    public void TheShippedBlocklistHoldsAtLeastTheTenThousandMostCommonPasswords()
    {
        Assert.True(AccountsApi.Security.PasswordPolicy.BlocklistSize >= 10_000, $"only {AccountsApi.Security.PasswordPolicy.BlocklistSize}");
        Assert.True(AccountsApi.Security.PasswordPolicy.IsCommon("PASSWORD1"));
        Assert.Equal("is too common; choose one that is harder to guess", AccountsApi.Security.PasswordPolicy.Problem("Password1"));
        Assert.Null(AccountsApi.Security.PasswordPolicy.Problem("Sturdy-Pass-42"));
    }
}
