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
