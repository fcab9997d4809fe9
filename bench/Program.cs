using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using AccountsApi.Infrastructure;
using Npgsql;

namespace AccountsApi.Bench;

/// <summary>
/// Load benchmark for AccountsApi: starts a throwaway PostgreSQL cluster, runs the real API (Release build)
/// as a child process in Production mode, creates and signs in users, then drives each scenario for a fixed
/// time at a fixed concurrency and prints a Markdown table. Progress goes to stderr, results to stdout.
/// All traffic goes to 127.0.0.1. See bench/README.md.
/// </summary>
public static class BenchProgram
{
    const string Origin = "http://localhost:4000";
    internal const string Password = "Bench-Pass-123";
    const string AccessCookie = "access_token";
    const string RefreshCookie = "refresh_token";
    /// <summary>Hard cap on requests per scenario run, so every loop is bounded in count as well as in time.</summary>
    internal const long MaxRequestsPerRun = 5_000_000;

    public static async Task<int> Main(string[] args)
    {
        BenchSettings settings;
        try { settings = BenchSettings.Parse(args); }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"bench: {e.Message}");
            Console.Error.WriteLine(BenchSettings.Usage);
            return 2;
        }
        if (settings.ShowHelp)
        {
            Console.WriteLine(BenchSettings.Usage);
            return 0;
        }

        using var cts = new CancellationTokenSource();
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; cts.Cancel(); });
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; cts.Cancel(); });

        var repoRoot = FindRepoRoot();
        var apiDll = Path.Combine(repoRoot, "Api", "bin", "Release", "net10.0", "AccountsApi.dll");
        if (!File.Exists(apiDll))
        {
            Console.Error.WriteLine($"bench: {apiDll} is missing; build it first: dotnet build Api -c Release -p:SkipOpenApi=true (bench/run.sh does).");
            return 2;
        }

        var dataDirectory = Path.Combine(Path.GetTempPath(), $"accountsapi-bench-{Guid.NewGuid():N}");
        LocalPostgres? postgres = null;
        ApiProcess? api = null;
        long setupErrors = 0;
        try
        {
            var loadBefore = MachineCpu.LoadAverage();
            var machine = await MachineInfo.CollectAsync(cts.Token);
            Progress($"machine: {machine.Cpus} CPUs ({machine.CpuModel}), .NET SDK {machine.DotnetVersion}");
            Progress($"settings: {settings.Seconds} s per scenario (+{settings.WarmupSeconds} s warm-up), concurrency {settings.Concurrency}, {settings.Users} users");

            Progress($"starting a throwaway PostgreSQL cluster in {dataDirectory} ...");
            postgres = await LocalPostgres.StartAsync(dataDirectory, removeOnDispose: true, cts.Token);
            var postgresVersion = await ServerVersionAsync(postgres.ConnectionString, cts.Token);
            Progress($"PostgreSQL {postgresVersion} on 127.0.0.1:{postgres.Port}");

            var baseAddress = new Uri($"http://127.0.0.1:{FreePort()}");
            api = ApiProcess.Start(apiDll, postgres.ConnectionString, baseAddress);
            Progress($"started the API (pid {api.Process.Id}) on {baseAddress}");

            using var handler = new SocketsHttpHandler
            {
                MaxConnectionsPerServer = settings.Concurrency,
                UseCookies = false, // cookies are Secure outside Development: a CookieContainer would not send them over http
                UseProxy = false,
                AllowAutoRedirect = false,
                AutomaticDecompression = DecompressionMethods.None,
                PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
                PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
                ConnectTimeout = TimeSpan.FromSeconds(10),
            };
            using var client = new HttpClient(handler) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) };

            var startup = await api.WaitUntilLiveAsync(client, TimeSpan.FromSeconds(120), cts.Token);
            var idleMemory = ProcessMemory.Read(api.Process.Id);
            Progress($"API live after {startup.TotalSeconds:0.0} s; RSS {ProcessMemory.Format(idleMemory?.RssKb)}");

            var runner = new Runner(client, settings, cts.Token, api.Process);
            var users = Enumerable.Range(0, settings.Users).Select(i => new BenchUser(i)).ToArray();
            var results = new List<ScenarioResult>();

            // 1. Registration (count-bound: every user once, at the configured concurrency). Users whose registration
            //    failed are retried one at a time afterwards, so the scenarios below still have every user; the
            //    table reports the first pass, errors included.
            Progress($"registering {users.Length} users (BCrypt cost 11 per user) at concurrency {Math.Min(settings.Concurrency, users.Length)} ...");
            var register = await runner.RunCountAsync($"POST /accounts/register ({users.Length} users)", users,
                Math.Min(settings.Concurrency, users.Length), HttpStatusCode.Created,
                user => JsonPost("/accounts/register", user.RegisterBody), (user, _) => user.Registered = true);
            results.Add(register);
            await RetryOneByOneAsync(runner, "registration", users, u => !u.Registered, HttpStatusCode.Created,
                user => JsonPost("/accounts/register", user.RegisterBody), (user, _) => user.Registered = true, register.ErrorSummary,
                alsoAccepted: HttpStatusCode.Conflict); // a failed first attempt may have created the user after all

            // 2. Sign every user in once; keep their cookies (not a table row: the timed login scenario measures the same).
            Progress($"signing in {users.Length} users ...");
            var signIn = await runner.RunCountAsync("sign-in (setup)", users, Math.Min(settings.Concurrency, users.Length), HttpStatusCode.OK,
                user => JsonPost("/auth/login", user.LoginBody), (user, response) => user.TakeCookies(response) && user.HasBothCookies);
            Progress($"signed in {signIn.Succeeded} users at {signIn.RequestsPerSecond:0.0}/s" + (signIn.Errors > 0 ? $"; errors: {signIn.ErrorSummary}" : ""));
            await RetryOneByOneAsync(runner, "sign-in", users, u => !u.HasBothCookies, HttpStatusCode.OK,
                user => JsonPost("/auth/login", user.LoginBody), (user, response) => user.TakeCookies(response) && user.HasBothCookies, signIn.ErrorSummary);
            setupErrors = register.Errors + signIn.Errors;

            // 3. Timed scenarios.
            long next = -1;
            BenchUser AnyUser() => users[(int)((ulong)Interlocked.Increment(ref next) % (ulong)users.Length)];

            results.Add(await runner.RunTimedAsync("GET /health/live", HttpStatusCode.OK,
                _ => new HttpRequestMessage(HttpMethod.Get, "/health/live")));
            results.Add(await runner.RunTimedAsync("GET /health (DB ping)", HttpStatusCode.OK,
                _ => new HttpRequestMessage(HttpMethod.Get, "/health")));
            results.Add(await runner.RunTimedAsync("GET /auth/session (JWT only)", HttpStatusCode.OK,
                _ => WithCookie(new HttpRequestMessage(HttpMethod.Get, "/auth/session"), AccessCookie, AnyUser().AccessToken)));
            results.Add(await runner.RunTimedAsync("GET /accounts/me (1 query)", HttpStatusCode.OK,
                _ => WithCookie(new HttpRequestMessage(HttpMethod.Get, "/accounts/me"), AccessCookie, AnyUser().AccessToken)));
            // Each worker owns user[worker]: its rotations never race another worker's, and the stored cookie follows every rotation.
            results.Add(await runner.RunTimedAsync("POST /auth/refresh (rotate)", HttpStatusCode.OK,
                slot => WithCookie(JsonPost("/auth/refresh", "{}"u8.ToArray()), RefreshCookie, users[slot.Worker].RefreshToken),
                (slot, response) => users[slot.Worker].TakeCookies(response) && users[slot.Worker].HasBothCookies));
            results.Add(await runner.RunTimedAsync("POST /auth/login (BCrypt 11)", HttpStatusCode.OK,
                _ => JsonPost("/auth/login", AnyUser().LoginBody)));
            // The same at one request per core: BCrypt-bound throughput without a queue in front of it.
            var perCore = Math.Min(Environment.ProcessorCount, settings.Concurrency);
            if (perCore < settings.Concurrency)
                results.Add(await runner.RunTimedAsync($"POST /auth/login (BCrypt 11), concurrency {perCore}", HttpStatusCode.OK,
                    _ => JsonPost("/auth/login", AnyUser().LoginBody), concurrency: perCore));

            // Failed sign-ins must not tell an unknown account from a wrong password (nor from a success) by
            // their timing: one request at a time, so each figure is the work of one sign-in. Last, because
            // the wrong passwords lock the accounts.
            results.Add(await runner.RunTimedAsync("POST /auth/login, right password, concurrency 1", HttpStatusCode.OK,
                _ => JsonPost("/auth/login", AnyUser().LoginBody), concurrency: 1));
            results.Add(await runner.RunTimedAsync("POST /auth/login, unknown user (401), concurrency 1", HttpStatusCode.Unauthorized,
                _ => JsonPost("/auth/login", AnyUser().UnknownUserBody), concurrency: 1));
            results.Add(await runner.RunTimedAsync("POST /auth/login, wrong password (401), concurrency 1", HttpStatusCode.Unauthorized,
                _ => JsonPost("/auth/login", AnyUser().WrongPasswordBody), concurrency: 1));

            var finalMemory = ProcessMemory.Read(api.Process.Id);
            var apiWarnings = api.WarningOrErrorLines;

            PrintReport(settings, machine, postgresVersion, results, idleMemory, finalMemory, apiWarnings, api.RecentLines(6), setupErrors, loadBefore);
            return results.Any(r => r.Errors > 0) ? 3 : 0;
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            Progress("cancelled; cleaning up");
            return 130;
        }
        catch (BenchFailure e)
        {
            Console.Error.WriteLine($"bench: {e.Message}");
            if (api is not null) foreach (var line in api.RecentLines(20)) Console.Error.WriteLine($"  api> {line}");
            return 1;
        }
        finally
        {
            if (api is not null) await api.StopAsync();
            if (postgres is not null)
            {
                Progress("stopping PostgreSQL and removing its data directory");
                await postgres.DisposeAsync();
            }
            else if (Directory.Exists(dataDirectory))
                Console.Error.WriteLine($"bench: PostgreSQL did not start; its folder {dataDirectory} is left for inspection.");
        }
    }

    static void PrintReport(BenchSettings settings, MachineInfo machine, string postgresVersion, List<ScenarioResult> results,
        MemorySample? idle, MemorySample? final, int apiWarnings, IReadOnlyList<string> recentApiLines, long setupErrors, string loadBefore)
    {
        var inv = CultureInfo.InvariantCulture;
        var o = Console.Out;
        o.WriteLine();
        o.WriteLine(string.Create(inv, $"Machine: {machine.Cpus} CPUs (nproc), {machine.CpuModel}; .NET SDK {machine.DotnetVersion}; PostgreSQL {postgresVersion}; {machine.Os}"));
        o.WriteLine(string.Create(inv, $"Settings: {settings.Seconds} s per scenario after {settings.WarmupSeconds} s warm-up, concurrency {settings.Concurrency}, {settings.Users} users; the client shares the machine with the API and PostgreSQL."));
        o.WriteLine();
        o.WriteLine("| scenario | requests | req/s | p50 ms | p95 ms | p99 ms | max ms | errors | API CPU | bench CPU | machine CPU |");
        o.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in results)
            o.WriteLine(string.Create(inv,
                $"| {r.Name} | {r.Succeeded} | {r.RequestsPerSecond:0.0} | {Ms(r.P50)} | {Ms(r.P95)} | {Ms(r.P99)} | {Ms(r.Max)} | {r.Errors} | {r.ApiCpuPercent:0}% | {r.BenchCpuPercent:0}% | {r.MachineCpuPercent:0}% |"));
        o.WriteLine();
        o.WriteLine(string.Create(inv,
            $"API memory: RSS {ProcessMemory.Format(idle?.RssKb)} when idle after start; after the runs RSS {ProcessMemory.Format(final?.RssKb)} (final), peak {ProcessMemory.Format(final?.HwmKb)} (VmHWM)."));
        o.WriteLine(string.Create(inv, $"API log lines at Warning or above during the run (not counting the expected \"SMTP_HOST is unset\"): {apiWarnings}."));
        foreach (var r in results.Where(r => r.Errors > 0))
            o.WriteLine($"Errors in {r.Name}: {r.ErrorSummary}");
        if (setupErrors > 0)
            o.WriteLine($"Setup (registration + first sign-in) had {setupErrors} failed requests; those users were retried one at a time.");
        if (apiWarnings > 0 || results.Any(r => r.Errors > 0))
            foreach (var line in recentApiLines) o.WriteLine($"    api> {line}");
        o.WriteLine();
        o.WriteLine(string.Create(inv, $"Load average (1 min) before the run: {loadBefore} (other work on the machine skews every figure)."));
        o.WriteLine();
        o.WriteLine("req/s counts successful responses per second of wall time; latencies are of successful responses only. " +
                    "CPU is CPU time over wall time, 100% = one core: the API process, this load generator, and the whole machine " +
                    "(/proc/stat; the rest of it is mostly PostgreSQL, or anything else running).");
    }

    /// <summary>Retries, one request at a time, the users a concurrent setup pass left behind; gives up when any still fails.</summary>
    static async Task RetryOneByOneAsync(Runner runner, string what, BenchUser[] users, Func<BenchUser, bool> needsRetry, HttpStatusCode expected,
        Func<BenchUser, HttpRequestMessage> build, Func<BenchUser, HttpResponseMessage, bool> accept, string firstErrors,
        HttpStatusCode? alsoAccepted = null)
    {
        var left = users.Where(needsRetry).ToArray();
        if (left.Length == 0) return;
        Progress($"{what} failed for {left.Length} users ({firstErrors}); retrying them one at a time");
        var retry = await runner.RunCountAsync($"{what} (retry)", left, 1, expected, build, accept, alsoAccepted);
        if (users.Any(needsRetry)) throw new BenchFailure($"{what} still failed for {users.Count(needsRetry)} users on retry: {retry.ErrorSummary}");
    }

    static string Ms(double value) => value < 10
        ? value.ToString("0.00", CultureInfo.InvariantCulture)
        : value.ToString("0.0", CultureInfo.InvariantCulture);

    static HttpRequestMessage JsonPost(string path, byte[] body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        request.Headers.TryAddWithoutValidation("Origin", Origin);
        return request;
    }

    static HttpRequestMessage WithCookie(HttpRequestMessage request, string name, string value)
    {
        request.Headers.TryAddWithoutValidation("Cookie", $"{name}={value}");
        return request;
    }

    static async Task<string> ServerVersionAsync(string connectionString, CancellationToken ct)
    {
        var pooled = new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString;
        await using var connection = new NpgsqlConnection(pooled);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand("show server_version", connection);
        return (await command.ExecuteScalarAsync(ct))?.ToString() ?? "?";
    }

    static string FindRepoRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "AccountsApi.sln")))
                    return dir.FullName;
        throw new InvalidOperationException("Could not find the repository root (the folder holding AccountsApi.sln).");
    }

    static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    internal static void Progress(string message) =>
        Console.Error.WriteLine($"[{DateTime.Now:HH:mm:ss}] {message}");
}

sealed class BenchFailure(string message) : Exception(message);

sealed record BenchSettings(int Seconds, int WarmupSeconds, int Concurrency, int Users, bool ShowHelp)
{
    public const string Usage =
        "usage: bench/run.sh [--seconds N] [--warmup N] [--concurrency N] [--users N]\n" +
        "  --seconds N      measured seconds per scenario (env BENCH_SECONDS, default 10, 1-600)\n" +
        "  --warmup N       unmeasured warm-up seconds before each scenario (env BENCH_WARMUP_SECONDS, default 2, 0-60)\n" +
        "  --concurrency N  concurrent requests in flight (env BENCH_CONCURRENCY, default 32, 1-1024)\n" +
        "  --users N        users to register and sign in; at least the concurrency (env BENCH_USERS, default 200, 1-100000)";

    public static BenchSettings Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var help = false;
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            if (arg is "-h" or "--help") { help = true; continue; }
            if (!arg.StartsWith("--", StringComparison.Ordinal)) throw new ArgumentException($"unexpected argument '{arg}'");
            var eq = arg.IndexOf('=');
            if (eq > 0) values[arg[2..eq]] = arg[(eq + 1)..];
            else if (i + 1 < args.Length) values[arg[2..]] = args[++i];
            else throw new ArgumentException($"{arg} needs a value");
        }
        foreach (var key in values.Keys)
            if (key is not ("seconds" or "warmup" or "concurrency" or "users")) throw new ArgumentException($"unknown option --{key}");

        int Get(string key, string env, int fallback, int min, int max)
        {
            var text = values.TryGetValue(key, out var v) ? v : Environment.GetEnvironmentVariable(env);
            if (string.IsNullOrWhiteSpace(text)) return fallback;
            if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) || n < min || n > max)
                throw new ArgumentException($"--{key} / {env} must be a whole number from {min} to {max} (got '{text}')");
            return n;
        }

        var settings = new BenchSettings(
            Get("seconds", "BENCH_SECONDS", 10, 1, 600),
            Get("warmup", "BENCH_WARMUP_SECONDS", 2, 0, 60),
            Get("concurrency", "BENCH_CONCURRENCY", 32, 1, 1024),
            Get("users", "BENCH_USERS", 200, 1, 100_000),
            help);
        if (settings.Users < settings.Concurrency)
            throw new ArgumentException($"--users ({settings.Users}) must be at least --concurrency ({settings.Concurrency}): each refresh worker owns a user");
        return settings;
    }
}

/// <summary>One benchmark user: request bodies prepared once, and the latest cookies the API set.</summary>
sealed class BenchUser
{
    public BenchUser(int index)
    {
        var username = $"bench_{index:D5}";
        RegisterBody = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
        {
            ["username"] = username,
            ["email"] = $"{username}@example.com",
            ["password"] = BenchProgram.Password,
            ["firstname"] = "Bench",
            ["lastname"] = $"User {index}",
            ["accept_terms"] = true,
        });
        LoginBody = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string> { ["login"] = username, ["password"] = BenchProgram.Password });
        WrongPasswordBody = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string> { ["login"] = username, ["password"] = "Wrong-Pass-999" });
        UnknownUserBody = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string> { ["login"] = $"nobody_{index:D5}", ["password"] = BenchProgram.Password });
    }

    public byte[] WrongPasswordBody { get; }
    public byte[] UnknownUserBody { get; }

    public byte[] RegisterBody { get; }
    public byte[] LoginBody { get; }
    public bool Registered { get; set; }
    public string AccessToken { get; private set; } = "";
    public string RefreshToken { get; private set; } = "";
    public bool HasBothCookies => AccessToken.Length > 0 && RefreshToken.Length > 0;

    /// <summary>Reads the access and refresh cookies from Set-Cookie; answers false when neither was set.</summary>
    public bool TakeCookies(HttpResponseMessage response)
    {
        if (!response.Headers.TryGetValues("Set-Cookie", out var values)) return false;
        var found = false;
        foreach (var header in values)
        {
            var pair = header.AsSpan();
            var semicolon = pair.IndexOf(';');
            if (semicolon >= 0) pair = pair[..semicolon];
            var eq = pair.IndexOf('=');
            if (eq <= 0) continue;
            var name = pair[..eq].Trim();
            var value = pair[(eq + 1)..].Trim().ToString();
            if (name.SequenceEqual("access_token")) { AccessToken = value; found = true; }
            else if (name.SequenceEqual("refresh_token")) { RefreshToken = value; found = true; }
        }
        return found;
    }
}

readonly record struct Slot(int Worker, long Index);

sealed record ScenarioResult(
    string Name, long Succeeded, long Errors, TimeSpan Elapsed, double P50, double P95, double P99, double Max,
    double ApiCpuPercent, double BenchCpuPercent, double MachineCpuPercent, string ErrorSummary)
{
    public double RequestsPerSecond => Elapsed.TotalSeconds > 0 ? Succeeded / Elapsed.TotalSeconds : 0;
}

/// <summary>Closed-loop load: <c>concurrency</c> workers each send one request at a time through the one shared HttpClient.</summary>
sealed class Runner(HttpClient client, BenchSettings settings, CancellationToken ct, Process api)
{
    public async Task<ScenarioResult> RunTimedAsync(string name, HttpStatusCode expected, Func<Slot, HttpRequestMessage> build,
        Func<Slot, HttpResponseMessage, bool>? accept = null, int? concurrency = null)
    {
        var workers = concurrency ?? settings.Concurrency;
        if (settings.WarmupSeconds > 0)
        {
            BenchProgram.Progress($"{name}: warming up for {settings.WarmupSeconds} s");
            await RunAsync(name, workers, TimeSpan.FromSeconds(settings.WarmupSeconds), BenchProgram.MaxRequestsPerRun, status => status == expected, build, accept);
        }
        BenchProgram.Progress($"{name}: measuring for {settings.Seconds} s at concurrency {workers}");
        var result = await RunAsync(name, workers, TimeSpan.FromSeconds(settings.Seconds), BenchProgram.MaxRequestsPerRun, status => status == expected, build, accept);
        BenchProgram.Progress($"{name}: {result.RequestsPerSecond:0.0} req/s, p50 {result.P50:0.00} ms, p99 {result.P99:0.00} ms, {result.Errors} errors");
        return result;
    }

    /// <summary>One request per item of <paramref name="items"/>, <paramref name="concurrency"/> at a time (bounded in time too: 10 minutes).</summary>
    public Task<ScenarioResult> RunCountAsync<T>(string name, T[] items, int concurrency, HttpStatusCode expected,
        Func<T, HttpRequestMessage> build, Func<T, HttpResponseMessage, bool> accept, HttpStatusCode? alsoAccepted = null) =>
        RunAsync(name, concurrency, TimeSpan.FromMinutes(10), items.Length, status => status == expected || status == alsoAccepted,
            slot => build(items[slot.Index]), (slot, response) => accept(items[slot.Index], response));

    async Task<ScenarioResult> RunAsync(string name, int concurrency, TimeSpan duration, long maxRequests, Func<HttpStatusCode, bool> expected,
        Func<Slot, HttpRequestMessage> build, Func<Slot, HttpResponseMessage, bool>? accept)
    {
        var errors = new ConcurrentDictionary<string, long>();
        var latencies = new List<double>[concurrency];
        long issued = -1;
        var apiCpuBefore = CpuTime(api);
        var benchCpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var machineBefore = MachineCpu.Read();
        var started = Stopwatch.GetTimestamp();
        var deadline = started + (long)(duration.TotalSeconds * Stopwatch.Frequency);

        async Task Worker(int worker)
        {
            var mine = latencies[worker] = new List<double>(4096);
            while (Stopwatch.GetTimestamp() < deadline)
            {
                var index = Interlocked.Increment(ref issued);
                if (index >= maxRequests) return;
                var slot = new Slot(worker, index);
                using var request = build(slot);
                var t0 = Stopwatch.GetTimestamp();
                try
                {
                    using var response = await client.SendAsync(request, HttpCompletionOption.ResponseContentRead, ct);
                    var elapsedMs = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                    if (!expected(response.StatusCode))
                        errors.AddOrUpdate($"HTTP {(int)response.StatusCode}", 1, (_, n) => n + 1);
                    else if (accept is not null && !accept(slot, response))
                        errors.AddOrUpdate("response without the expected cookies", 1, (_, n) => n + 1);
                    else
                        mine.Add(elapsedMs);
                }
                catch (Exception e) when (!ct.IsCancellationRequested && e is HttpRequestException or TaskCanceledException or IOException)
                {
                    errors.AddOrUpdate(e is TaskCanceledException ? "timeout" : e.GetType().Name, 1, (_, n) => n + 1);
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(w => Task.Run(() => Worker(w), ct)));
        var elapsed = Stopwatch.GetElapsedTime(started);
        var apiCpu = CpuTime(api) - apiCpuBefore;
        var benchCpu = Process.GetCurrentProcess().TotalProcessorTime - benchCpuBefore;
        var machineCpu = MachineCpu.PercentSince(machineBefore);

        var all = latencies.Where(l => l is not null).SelectMany(l => l).ToArray();
        Array.Sort(all);
        return new ScenarioResult(name, all.Length, errors.Values.Sum(), elapsed,
            Percentile(all, 50), Percentile(all, 95), Percentile(all, 99), all.Length > 0 ? all[^1] : 0,
            100 * apiCpu.TotalSeconds / elapsed.TotalSeconds, 100 * benchCpu.TotalSeconds / elapsed.TotalSeconds, machineCpu,
            string.Join(", ", errors.OrderByDescending(e => e.Value).Select(e => $"{e.Key} x{e.Value}")));
    }

    static TimeSpan CpuTime(Process process)
    {
        try
        {
            process.Refresh();
            return process.TotalProcessorTime;
        }
        catch (InvalidOperationException) { return TimeSpan.Zero; } // exited
    }

    /// <summary>Nearest-rank percentile of sorted values.</summary>
    static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Length) - 1, 0, sorted.Length - 1)];
}

/// <summary>The API as a child process: `dotnet Api/bin/Release/net10.0/AccountsApi.dll`, Production settings.</summary>
sealed class ApiProcess
{
    const int KeptLines = 200;
    readonly Queue<string> recent = new();
    int warningOrErrorLines;

    ApiProcess(Process process) => Process = process;

    public Process Process { get; }
    public int WarningOrErrorLines => Volatile.Read(ref warningOrErrorLines);

    public static ApiProcess Start(string apiDll, string connectionString, Uri baseAddress)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(apiDll)!,
        };
        info.ArgumentList.Add(apiDll);
        // Settings that would change what is measured are pinned; anything else (e.g. DB_POOL_MAX) is inherited.
        foreach (var name in new[] { "REDIS_URL", "SMTP_HOST", "LEGACY_CLIENTS", "TRUSTED_PROXIES", "ALLOWED_ORIGINS", "BCRYPT_WORK_FACTOR",
                     "ASPNETCORE_ENVIRONMENT", "DOTNET_ENVIRONMENT", "ASPNETCORE_HTTP_PORTS", "HTTP_PORTS" })
            info.Environment.Remove(name);
        info.Environment["ENVIRONMENT"] = "Production";
        info.Environment["JWT_SIGNING_KEY"] = RandomNumberGenerator.GetString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 48);
        info.Environment["DATABASE_URL"] = connectionString;
        info.Environment["ASPNETCORE_URLS"] = baseAddress.ToString().TrimEnd('/');
        info.Environment["LOG_LEVEL"] = "Warning";
        info.Environment["RATE_LIMIT_ENABLED"] = "false"; // login 5/min/IP and register 3/h/IP would stop a benchmark at once
        info.Environment["REQUIRE_VERIFIED_EMAIL"] = "false";
        info.Environment["MIGRATE_ON_START"] = "true";
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var api = new ApiProcess(process);
        process.OutputDataReceived += (_, e) => api.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => api.Keep(e.Data);
        if (!process.Start()) throw new BenchFailure("could not start `dotnet AccountsApi.dll`");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return api;
    }

    void Keep(string? line)
    {
        if (line is null) return;
        // Compact JSON logs: "@l":"Warning" / "Error" / "Fatal" (Information lines carry no @l and are off at LOG_LEVEL=Warning anyway).
        // The start-up warning that SMTP_HOST is unset is expected here (mail stays in the outbox) and not counted.
        var atLeastWarning = line.Contains("\"@l\":\"Warning\"", StringComparison.Ordinal)
                             || line.Contains("\"@l\":\"Error\"", StringComparison.Ordinal)
                             || line.Contains("\"@l\":\"Fatal\"", StringComparison.Ordinal);
        if (atLeastWarning && !line.Contains("SMTP_HOST is unset", StringComparison.Ordinal))
            Interlocked.Increment(ref warningOrErrorLines);
        lock (recent)
        {
            recent.Enqueue(line.Length > 500 ? line[..500] + "..." : line);
            while (recent.Count > KeptLines) recent.Dequeue();
        }
    }

    public IReadOnlyList<string> RecentLines(int count)
    {
        lock (recent) return recent.Skip(Math.Max(0, recent.Count - count)).ToArray();
    }

    public async Task<TimeSpan> WaitUntilLiveAsync(HttpClient client, TimeSpan timeout, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(started) < timeout)
        {
            if (Process.HasExited)
                throw new BenchFailure($"the API exited with code {Process.ExitCode} before it answered /health/live");
            try
            {
                using var attempt = CancellationTokenSource.CreateLinkedTokenSource(ct);
                attempt.CancelAfter(TimeSpan.FromSeconds(5));
                using var response = await client.GetAsync("/health/live", attempt.Token);
                if (response.StatusCode == HttpStatusCode.OK) return Stopwatch.GetElapsedTime(started);
            }
            catch (Exception e) when (!ct.IsCancellationRequested && e is HttpRequestException or TaskCanceledException) { }
            await Task.Delay(200, ct);
        }
        throw new BenchFailure($"the API did not answer GET /health/live with 200 within {timeout.TotalSeconds:0} s");
    }

    /// <summary>Kills the API (and anything it started) and waits until it is gone.</summary>
    public async Task StopAsync()
    {
        try
        {
            if (!Process.HasExited)
            {
                BenchProgram.Progress($"stopping the API (pid {Process.Id})");
                Process.Kill(entireProcessTree: true);
            }
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            await Process.WaitForExitAsync(wait.Token);
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine($"bench: the API process {Process.Id} did not exit within 15 s of SIGKILL");
        }
        catch (InvalidOperationException) { } // never started or already reaped
        finally
        {
            Process.Dispose();
        }
    }
}

readonly record struct MemorySample(long RssKb, long HwmKb);

/// <summary>Whole-machine CPU use from /proc/stat, and the load average, to show what else competed for the cores.</summary>
static class MachineCpu
{
    public readonly record struct Sample(long Busy, long Total);

    public static Sample Read()
    {
        try
        {
            var line = File.ReadLines("/proc/stat").First(l => l.StartsWith("cpu ", StringComparison.Ordinal));
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1)
                .Select(v => long.Parse(v, CultureInfo.InvariantCulture)).ToArray();
            // user nice system idle iowait irq softirq steal (guest time is already in user)
            var busy = f[0] + f[1] + f[2] + f[5] + f[6] + (f.Length > 7 ? f[7] : 0);
            return new Sample(busy, busy + f[3] + f[4]);
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or FormatException or IndexOutOfRangeException)
        {
            return default;
        }
    }

    /// <summary>Busy share of all cores since <paramref name="before"/>, scaled so that 100% = one core.</summary>
    public static double PercentSince(Sample before)
    {
        var now = Read();
        var total = now.Total - before.Total;
        return total > 0 ? 100.0 * Environment.ProcessorCount * (now.Busy - before.Busy) / total : 0;
    }

    public static string LoadAverage()
    {
        try { return File.ReadAllText("/proc/loadavg").Split(' ')[0]; }
        catch (IOException) { return "n/a"; }
    }
}

static class ProcessMemory
{
    /// <summary>VmRSS (now) and VmHWM (peak) of a process from /proc/&lt;pid&gt;/status, in kB.</summary>
    public static MemorySample? Read(int pid)
    {
        try
        {
            long rss = -1, hwm = -1;
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal)) rss = Kb(line);
                else if (line.StartsWith("VmHWM:", StringComparison.Ordinal)) hwm = Kb(line);
            }
            return rss >= 0 && hwm >= 0 ? new MemorySample(rss, hwm) : null;
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    static long Kb(string line) =>
        long.Parse(line.Split(':', 2)[1].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries)[0], CultureInfo.InvariantCulture);

    public static string Format(long? kb) => kb is { } k ? string.Create(CultureInfo.InvariantCulture, $"{k / 1024.0:0} MiB") : "n/a";
}

sealed record MachineInfo(string Cpus, string CpuModel, string DotnetVersion, string Os)
{
    public static async Task<MachineInfo> CollectAsync(CancellationToken ct)
    {
        var cpus = await RunAsync("nproc", ct) ?? Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture);
        var dotnet = await RunAsync("dotnet", ct, "--version") ?? "?";
        string model = "unknown CPU";
        try
        {
            model = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))
                ?.Split(':', 2)[1].Trim() ?? model;
        }
        catch (IOException) { }
        return new MachineInfo(cpus, model, dotnet, RuntimeInformation.OSDescription);
    }

    static async Task<string?> RunAsync(string file, CancellationToken ct, params string[] args)
    {
        try
        {
            var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, UseShellExecute = false };
            foreach (var a in args) info.ArgumentList.Add(a);
            using var process = Process.Start(info);
            if (process is null) return null;
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(30));
            var output = await process.StandardOutput.ReadToEndAsync(timeout.Token);
            await process.WaitForExitAsync(timeout.Token);
            return process.ExitCode == 0 ? output.Trim() : null;
        }
        catch (System.ComponentModel.Win32Exception) { return null; }
    }
}
