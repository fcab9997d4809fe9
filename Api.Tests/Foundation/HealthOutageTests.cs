using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using AccountsApi.Infrastructure;
using AccountsApi.Tests.Infrastructure;

namespace AccountsApi.Tests.Foundation;

/// <summary>Owns its cluster, since it stops the database; runs beside the main collection.</summary>
public sealed class HealthOutageTests : IAsyncLifetime
{
    LocalPostgres cluster = null!;
    ApiFactory factory = null!;

    public async Task InitializeAsync()
    {
        cluster = await LocalPostgres.StartAsync(Path.Combine(Path.GetTempPath(), $"accountsapi-outage-{Guid.NewGuid():N}"), removeOnDispose: true);
        factory = new ApiFactory(cluster.ConnectionString);
    }

    public async Task DisposeAsync()
    {
        await factory.DisposeAsync();
        await cluster.DisposeAsync();
    }

    [Fact]
    public async Task HealthAnswers503WhileTheDatabaseIsDownAndRecoversWithoutRestart()
    {
        var client = factory.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health")).StatusCode);

        await cluster.StopAsync();
        var watch = Stopwatch.StartNew();
        var down = await client.GetAsync("/health");
        watch.Stop();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, down.StatusCode);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(3), $"took {watch.Elapsed}");
        var body = JsonDocument.Parse(await down.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("unhealthy", body.GetProperty("status").GetString());
        Assert.Equal("unhealthy", body.GetProperty("checks").GetProperty("database").GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.GetAsync("/health/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
        var register = await Users.PostRegisterAsync(Users.Browser(factory), Users.RegisterBody("during_outage"));
        await Http.AssertProblemAsync(register, HttpStatusCode.ServiceUnavailable, "database_unavailable");
        Assert.True(register.Headers.RetryAfter is not null);

        await cluster.StartAsync();
        var deadline = DateTime.UtcNow.AddSeconds(15);
        HttpStatusCode status;
        do
        {
            status = (await client.GetAsync("/health")).StatusCode;
            if (status == HttpStatusCode.OK) break;
            await Task.Delay(200);
        } while (DateTime.UtcNow < deadline);
        Assert.Equal(HttpStatusCode.OK, status);
        await Users.RegisterAsync(Users.Browser(factory), "after_outage");
    }

    [Fact]
    public async Task HealthAnswers503WithinTwoSecondsWhenTheDatabaseHangs()
    {
        // A peer that accepts TCP connections and never answers: a connect timeout, not a refusal.
        using var blackHole = new TcpListener(IPAddress.Loopback, 0);
        blackHole.Start();
        var accepted = new System.Collections.Concurrent.ConcurrentBag<Socket>();
        _ = Task.Run(async () => { try { while (true) accepted.Add(await blackHole.AcceptSocketAsync()); } catch (SocketException) { } catch (ObjectDisposedException) { } });
        var port = ((IPEndPoint)blackHole.LocalEndpoint).Port;

        await using var hanging = factory.WithSettings(new Dictionary<string, string?>
        {
            ["DATABASE_URL"] = $"Host=127.0.0.1;Port={port};Username=postgres;Database=accounts",
            ["MIGRATE_ON_START"] = "false",
        });
        var client = hanging.CreateClient();
        var watch = Stopwatch.StartNew();
        var response = await client.GetAsync("/health");
        watch.Stop();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(3), $"took {watch.Elapsed}");
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
        foreach (var socket in accepted) socket.Dispose();
    }
}
