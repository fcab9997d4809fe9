using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace AccountsApi.Infrastructure;

/// <summary>
/// A PostgreSQL cluster of our own on a free loopback port, for when DATABASE_URL is unset (the run
/// command keeps it under .data/) and for the tests (a throwaway cluster in a temp folder).
/// initdb refuses to run as root, so as root every server command runs as the `postgres` user.
/// </summary>
public sealed class LocalPostgres : IAsyncDisposable
{
    public const string DatabaseName = "accounts";

    readonly string binDirectory;
    readonly bool removeOnDispose;
    bool startedByUs;

    public string DataDirectory { get; }
    public int Port { get; private set; }
    public string ConnectionString =>
        $"Host=127.0.0.1;Port={Port};Username=postgres;Database={DatabaseName}";

    LocalPostgres(string binDirectory, string dataDirectory, bool removeOnDispose)
    {
        this.binDirectory = binDirectory;
        DataDirectory = dataDirectory;
        this.removeOnDispose = removeOnDispose;
    }

    /// <summary>Starts (or reuses, when it is already running) the cluster in <paramref name="dataDirectory"/>.</summary>
    public static async Task<LocalPostgres> StartAsync(string dataDirectory, bool removeOnDispose, CancellationToken ct = default)
    {
        var server = new LocalPostgres(FindBinDirectory(), Path.GetFullPath(dataDirectory), removeOnDispose);
        await server.InitAndStartAsync(ct);
        return server;
    }

    /// <summary>The repository's .data/postgres (where AccountsApi.sln is), else the current directory's.</summary>
    public static string DefaultDataDirectory() => Path.Combine(Hosting.WorkingRoot(), ".data", "postgres");

    async Task InitAndStartAsync(CancellationToken ct)
    {
        Directory.CreateDirectory(DataDirectory);
        if (IsRoot) await RunAsync("chown", ["-R", "postgres:postgres", DataDirectory], asPostgres: false, ct);
        if (!File.Exists(Path.Combine(DataDirectory, "PG_VERSION")))
            await RunAsync(Bin("initdb"), ["-D", DataDirectory, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"], asPostgres: true, ct);

        var runningPort = await RunningPortAsync(ct);
        if (runningPort is int port) Port = port;
        else await StartServerAsync(FreePort(), ct);
        await EnsureDatabaseAsync(ct);
    }

    /// <summary>Starts the server again after <see cref="StopAsync"/>, on the same port.</summary>
    public Task StartAsync(CancellationToken ct = default) => StartServerAsync(Port, ct);

    public async Task StopAsync(CancellationToken ct = default)
    {
        await RunAsync(Bin("pg_ctl"), ["-D", DataDirectory, "-m", "fast", "-w", "stop"], asPostgres: true, ct);
        NpgsqlConnection.ClearAllPools();
    }

    async Task StartServerAsync(int port, CancellationToken ct)
    {
        Port = port;
        var options = $"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off -c max_connections=200";
        await RunAsync(Bin("pg_ctl"),
            ["-D", DataDirectory, "-l", Path.Combine(DataDirectory, "server.log"), "-w", "-t", "60", "-o", options, "start"],
            asPostgres: true, ct);
        startedByUs = true;
    }

    async Task<int?> RunningPortAsync(CancellationToken ct)
    {
        var pidFile = Path.Combine(DataDirectory, "postmaster.pid");
        if (!File.Exists(pidFile)) return null;
        var (exit, _) = await TryRunAsync(Bin("pg_ctl"), ["-D", DataDirectory, "status"], asPostgres: true, ct);
        if (exit != 0) return null;
        var lines = await File.ReadAllLinesAsync(pidFile, ct);
        return lines.Length > 3 && int.TryParse(lines[3], out var port) ? port : null;
    }

    async Task EnsureDatabaseAsync(CancellationToken ct)
    {
        var admin = new NpgsqlConnectionStringBuilder(ConnectionString) { Database = "postgres", Pooling = false }.ConnectionString;
        await using var connection = new NpgsqlConnection(admin);
        await connection.OpenAsync(ct);
        await using var exists = new NpgsqlCommand("select 1 from pg_database where datname = $1", connection)
        { Parameters = { new() { Value = DatabaseName } } };
        if (await exists.ExecuteScalarAsync(ct) is null)
        {
            await using var create = new NpgsqlCommand($"create database {DatabaseName}", connection);
            await create.ExecuteNonQueryAsync(ct);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (startedByUs || removeOnDispose)
            await TryRunAsync(Bin("pg_ctl"), ["-D", DataDirectory, "-m", "immediate", "-w", "stop"], asPostgres: true, CancellationToken.None);
        NpgsqlConnection.ClearAllPools();
        if (removeOnDispose)
        {
            try { Directory.Delete(DataDirectory, recursive: true); }
            catch (IOException) { } // a leftover temp folder is harmless
        }
    }

    static bool IsRoot => Environment.UserName == "root";

    string Bin(string name) => Path.Combine(binDirectory, name);

    static string FindBinDirectory()
    {
        var fromEnv = Environment.GetEnvironmentVariable("PG_BIN");
        if (!string.IsNullOrEmpty(fromEnv) && File.Exists(Path.Combine(fromEnv, "initdb"))) return fromEnv;
        var installed = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql")
                .Select(d => Path.Combine(d, "bin"))
                .Where(d => File.Exists(Path.Combine(d, "initdb")))
                .OrderByDescending(d => int.TryParse(Path.GetFileName(Path.GetDirectoryName(d)), out var v) ? v : 0)
                .FirstOrDefault()
            : null;
        return installed ?? throw new InvalidOperationException(
            "PostgreSQL server binaries were not found (looked in /usr/lib/postgresql/*/bin and $PG_BIN): " +
            "install them with `apt-get install -y postgresql` (./run.sh does this), or set DATABASE_URL.");
    }

    static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    static async Task RunAsync(string file, string[] args, bool asPostgres, CancellationToken ct)
    {
        var (exit, output) = await TryRunAsync(file, args, asPostgres, ct);
        if (exit != 0)
            throw new InvalidOperationException($"`{Path.GetFileName(file)} {string.Join(' ', args)}` failed ({exit}): {output.Trim()}");
    }

    static async Task<(int Exit, string Output)> TryRunAsync(string file, string[] args, bool asPostgres, CancellationToken ct)
    {
        var info = new ProcessStartInfo(asPostgres && IsRoot ? "runuser" : file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = "/",
        };
        if (asPostgres && IsRoot) foreach (var a in new[] { "-u", "postgres", "--", file }) info.ArgumentList.Add(a);
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {file}.");
        // pg_ctl leaves the server holding inherited pipes open; read only until the command itself exits.
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);
        await Task.WhenAny(Task.WhenAll(stdout, stderr), Task.Delay(2000, ct));
        var output = (stdout.IsCompletedSuccessfully ? stdout.Result : "") + (stderr.IsCompletedSuccessfully ? stderr.Result : "");
        return (process.ExitCode, output);
    }
}
