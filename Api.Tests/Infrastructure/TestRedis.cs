using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace AccountsApi.Tests.Infrastructure;

/// <summary>A throwaway redis-server on a free loopback port, without persistence; killed on dispose.</summary>
public sealed class TestRedis : IAsyncDisposable
{
    readonly Process process;

    public int Port { get; }
    public string Url => $"redis://127.0.0.1:{Port}";

    TestRedis(Process process, int port)
    {
        this.process = process;
        Port = port;
    }

    public static async Task<TestRedis> StartAsync()
    {
        var binary = new[] { "/usr/bin/redis-server", "/usr/local/bin/redis-server" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("redis-server is not installed: scripts/ensure-redis.sh (run by test.sh) installs it.");
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }
        var info = new ProcessStartInfo(binary) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "--port", port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no" })
            info.ArgumentList.Add(arg);
        var process = Process.Start(info) ?? throw new InvalidOperationException("redis-server did not start");
        _ = process.StandardOutput.ReadToEndAsync();
        _ = process.StandardError.ReadToEndAsync();
        var redis = new TestRedis(process, port);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!await redis.PingAsync())
        {
            if (process.HasExited || DateTime.UtcNow > deadline)
            {
                await redis.DisposeAsync();
                throw new InvalidOperationException($"redis-server did not answer on port {port}");
            }
            await Task.Delay(50);
        }
        return redis;
    }

    async Task<bool> PingAsync()
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, Port);
            var stream = client.GetStream();
            await stream.WriteAsync("PING\r\n"u8.ToArray());
            var buffer = new byte[16];
            var read = await stream.ReadAsync(buffer);
            return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (SocketException) { return false; }
        catch (IOException) { return false; }
    }

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
        process.Dispose();
    }
}
