using System.Diagnostics;

namespace AccountsApi.Tests.Foundation;

public sealed class StartupTests
{
    [Fact]
    public async Task RefusesToStartOutsideDevelopmentWithoutJwtSigningKeyInOneClearLine()
    {
        var info = new ProcessStartInfo("dotnet", [typeof(Program).Assembly.Location])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        info.Environment["ENVIRONMENT"] = "Production";
        info.Environment.Remove("JWT_SIGNING_KEY");
        info.Environment["DATABASE_URL"] = "Host=127.0.0.1;Port=1;Database=never_used";
        info.Environment["ASPNETCORE_URLS"] = "http://127.0.0.1:0";
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        Assert.True(process.WaitForExit(30_000), "the process did not exit");
        Assert.Equal(1, process.ExitCode);
        var lines = (await stderr).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var line = Assert.Single(lines);
        Assert.Contains("JWT_SIGNING_KEY", line);
        Assert.DoesNotContain("   at ", await stdout + line);
    }
}
