using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using System.Web;
using MimeKit;
using SmtpAuthenticator = global::SmtpServer.Authentication.DelegatingUserAuthenticator;
using SmtpIMessageTransaction = global::SmtpServer.IMessageTransaction;
using SmtpISessionContext = global::SmtpServer.ISessionContext;
using SmtpMessageStore = global::SmtpServer.Storage.MessageStore;
using SmtpOptionsBuilder = global::SmtpServer.SmtpServerOptionsBuilder;
using SmtpResponse = global::SmtpServer.Protocol.SmtpResponse;
using SmtpServerHost = global::SmtpServer.SmtpServer;
using SmtpServiceProvider = global::SmtpServer.ComponentModel.ServiceProvider;

namespace AccountsApi.Tests.Infrastructure;

/// <summary>
/// A real, in-process SMTP server (the SmtpServer package) on 127.0.0.1 and a free port, for
/// end-to-end tests of outgoing mail. Plain SMTP (no TLS); authentication is not required, but
/// AUTH PLAIN/LOGIN is advertised and any credentials are accepted. Every received message is
/// parsed with MimeKit and kept until <see cref="Clear"/>. <see cref="StopAsync"/> closes the
/// listener (connections are then refused, like a mail-server outage) and
/// <see cref="RestartAsync"/> listens again on the same port, keeping the received messages.
/// </summary>
public sealed class TestSmtpServer : IAsyncDisposable
{
    /// <summary>Default time <see cref="WaitForMessageAsync"/> waits for a matching message.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(15);

    private readonly object _gate = new();
    private readonly SemaphoreSlim _lifecycle = new(1, 1);
    private readonly List<MimeMessage> _messages = [];
    private readonly List<string> _authenticatedUsers = [];
    private readonly List<string> _faults = [];
    private TaskCompletionSource _changed = NewSignal();

    private SmtpServerHost? _server;
    private CancellationTokenSource? _cts;
    private Task? _runTask;
    private bool _disposed;

    private TestSmtpServer(int port) => Port = port;

    /// <summary>The TCP port the server listens on (stays the same across stop/restart).</summary>
    public int Port { get; }

    /// <summary>The address the server listens on.</summary>
    public string Host => "127.0.0.1";

    /// <summary>True while the server is accepting connections.</summary>
    public bool IsRunning
    {
        get { lock (_gate) return _server is not null; }
    }

    /// <summary>A snapshot of the messages received so far, oldest first.</summary>
    public IReadOnlyList<MimeMessage> Messages
    {
        get { lock (_gate) return _messages.ToArray(); }
    }

    /// <summary>User names of the clients that authenticated (any credentials are accepted).</summary>
    public IReadOnlyList<string> AuthenticatedUsers
    {
        get { lock (_gate) return _authenticatedUsers.ToArray(); }
    }

    /// <summary>Starts a server on 127.0.0.1 and a free port.</summary>
    public static TestSmtpServer Start()
    {
        for (var attempt = 1; ; attempt++)
        {
            var server = new TestSmtpServer(FindFreePort());
            try
            {
                server.StartListening();
                return server;
            }
            catch (SocketException) when (attempt < 5)
            {
                // Another process grabbed the port between probing and binding; pick another.
            }
        }
    }

    /// <summary>Starts a server on 127.0.0.1 and a free port.</summary>
    public static Task<TestSmtpServer> StartAsync() => Task.FromResult(Start());

    /// <summary>Forgets all received messages (and recorded logins and faults).</summary>
    public void Clear()
    {
        lock (_gate)
        {
            _messages.Clear();
            _authenticatedUsers.Clear();
            _faults.Clear();
        }
    }

    /// <summary>
    /// Returns the first received message (including ones received before the call) matching
    /// <paramref name="predicate"/>, waiting up to <paramref name="timeout"/> (default 15 s) for it.
    /// </summary>
    /// <exception cref="TimeoutException">No matching message arrived in time; the message lists what was received.</exception>
    public async Task<MimeMessage> WaitForMessageAsync(Func<MimeMessage, bool> predicate, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        var messages = await WaitUntilAsync(
            all => all.FirstOrDefault(predicate) is { } match ? [match] : null,
            timeout ?? DefaultTimeout,
            "a message matching the predicate");
        return messages[0];
    }

    /// <summary>
    /// Waits until at least <paramref name="count"/> received messages match
    /// <paramref name="predicate"/> (all messages when null) and returns those matching messages.
    /// </summary>
    /// <exception cref="TimeoutException">Fewer messages arrived in time; the message lists what was received.</exception>
    public Task<IReadOnlyList<MimeMessage>> WaitForMessagesAsync(
        int count, Func<MimeMessage, bool>? predicate = null, TimeSpan? timeout = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        return WaitUntilAsync(
            all =>
            {
                var matching = predicate is null ? all : all.Where(predicate).ToArray();
                return matching.Count >= count ? matching : null;
            },
            timeout ?? DefaultTimeout,
            predicate is null ? $"{count} message(s)" : $"{count} message(s) matching the predicate");
    }

    /// <summary>
    /// Waits for <paramref name="wait"/> and throws if a message matching <paramref name="predicate"/>
    /// was received by then (use to check that something was NOT sent).
    /// </summary>
    /// <exception cref="InvalidOperationException">A matching message was received.</exception>
    public async Task EnsureNoMessageAsync(Func<MimeMessage, bool> predicate, TimeSpan wait)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        var deadline = DateTime.UtcNow + wait;
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                if (_messages.FirstOrDefault(predicate) is { } match)
                    throw new InvalidOperationException(
                        $"Expected no matching e-mail, but received: {Describe(match)}.");
                changed = _changed.Task;
            }

            var remaining = deadline - DateTime.UtcNow;
            if (remaining <= TimeSpan.Zero) return;
            await WaitForSignalAsync(changed, remaining);
        }
    }

    /// <summary>
    /// Stops listening: afterwards connections to <see cref="Port"/> are refused. Open sessions are
    /// cancelled. Received messages are kept. Does nothing when already stopped.
    /// </summary>
    public async Task StopAsync()
    {
        await _lifecycle.WaitAsync();
        try
        {
            await StopListeningAsync();
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>
    /// Starts listening again on the same <see cref="Port"/> (received messages are kept).
    /// Does nothing when already running.
    /// </summary>
    public async Task RestartAsync()
    {
        await _lifecycle.WaitAsync();
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (IsRunning) return;

            // The port can be briefly unavailable after a stop (e.g. sockets in TIME_WAIT); retry.
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
            while (true)
            {
                try
                {
                    StartListening();
                    return;
                }
                catch (SocketException) when (DateTime.UtcNow < deadline)
                {
                    await Task.Delay(100);
                }
            }
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>Stops the server.</summary>
    public async ValueTask DisposeAsync()
    {
        await _lifecycle.WaitAsync();
        try
        {
            _disposed = true;
            await StopListeningAsync();
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>The plain-text body of <paramref name="message"/> (empty when it has none).</summary>
    public static string TextBody(MimeMessage message) => message.TextBody ?? "";

    /// <summary>The HTML body of <paramref name="message"/> (empty when it has none).</summary>
    public static string HtmlBody(MimeMessage message) => message.HtmlBody ?? "";

    /// <summary>
    /// The first URL in the text body of <paramref name="message"/> that starts with
    /// <paramref name="pathPrefix"/> (e.g. "http://localhost:4000/verify-email?token="), or null.
    /// Falls back to the HTML body (HTML-decoded) when the text body has no such URL.
    /// </summary>
    public static string? FindLink(MimeMessage message, string pathPrefix)
    {
        ArgumentException.ThrowIfNullOrEmpty(pathPrefix);
        return FindLinkIn(message.TextBody, pathPrefix, htmlDecode: false)
               ?? FindLinkIn(message.HtmlBody, pathPrefix, htmlDecode: true);
    }

    /// <summary>The URL-decoded <c>token</c> query parameter of <paramref name="url"/>, or null.</summary>
    public static string? TokenFrom(string url)
    {
        ArgumentNullException.ThrowIfNull(url);
        var query = Uri.TryCreate(url, UriKind.Absolute, out var uri)
            ? uri.Query
            : url.IndexOf('?') is var i and >= 0 ? url[i..] : "";
        var hash = query.IndexOf('#');
        if (hash >= 0) query = query[..hash];
        return HttpUtility.ParseQueryString(query)["token"];
    }

    private static string? FindLinkIn(string? body, string prefix, bool htmlDecode)
    {
        if (string.IsNullOrEmpty(body)) return null;
        var pattern = Regex.Escape(htmlDecode ? prefix.Replace("&", "&amp;") : prefix);
        foreach (Match match in Regex.Matches(body, pattern + @"[^\s""'<>]*"))
        {
            var url = htmlDecode ? WebUtility.HtmlDecode(match.Value) : match.Value;
            url = url.TrimEnd('.', ',', ';', ':', '!', '?', ')', ']', '}');
            if (url.StartsWith(prefix, StringComparison.Ordinal)) return url;
        }
        return null;
    }

    private static int FindFreePort()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        try
        {
            return ((IPEndPoint)probe.LocalEndpoint).Port;
        }
        finally
        {
            probe.Stop();
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private void StartListening()
    {
        var options = new SmtpOptionsBuilder()
            .ServerName("test-smtp.localhost")
            .Endpoint(b => b
                .Endpoint(new IPEndPoint(IPAddress.Loopback, Port))
                .IsSecure(false)
                .AuthenticationRequired(false)
                .AllowUnsecureAuthentication(true))
            .Build();

        var services = new SmtpServiceProvider();
        services.Add(new Store(this));
        services.Add(new SmtpAuthenticator((_, user, _) =>
        {
            lock (_gate) _authenticatedUsers.Add(user);
            return true;
        }));

        var server = new SmtpServerHost(options, services);
        server.SessionFaulted += (_, e) =>
        {
            lock (_gate) _faults.Add(e.Exception.GetBaseException().Message);
        };

        var cts = new CancellationTokenSource();
        // The listener socket is bound synchronously inside StartAsync; a bind failure
        // (port in use) surfaces as an already-faulted task.
        var runTask = server.StartAsync(cts.Token);
        if (runTask.IsCompleted)
        {
            cts.Dispose();
            runTask.GetAwaiter().GetResult(); // rethrows e.g. SocketException (address in use)
            throw new InvalidOperationException("The SMTP server stopped right after starting.");
        }

        lock (_gate)
        {
            _server = server;
            _cts = cts;
            _runTask = runTask;
        }
    }

    private async Task StopListeningAsync()
    {
        SmtpServerHost? server;
        CancellationTokenSource? cts;
        Task? runTask;
        lock (_gate)
        {
            (server, cts, runTask) = (_server, _cts, _runTask);
            (_server, _cts, _runTask) = (null, null, null);
        }
        if (server is null || cts is null || runTask is null) return;

        cts.Cancel();
        // ShutdownTask completes once every listener socket is closed; the run task additionally
        // waits for open sessions, which the cancelled token aborts.
        await Task.WhenAny(server.ShutdownTask, runTask).WaitAsync(TimeSpan.FromSeconds(10));
        try
        {
            await runTask.WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (OperationCanceledException)
        {
        }
        catch (TimeoutException)
        {
            // A session that ignores cancellation must not hang the test; the listener is closed.
        }
        cts.Dispose();
    }

    private async Task<IReadOnlyList<MimeMessage>> WaitUntilAsync(
        Func<IReadOnlyList<MimeMessage>, IReadOnlyList<MimeMessage>?> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                var result = condition(_messages.ToArray());
                if (result is not null) return result;
                changed = _changed.Task;
            }

            var remaining = deadline - DateTime.UtcNow;
            if (remaining <= TimeSpan.Zero) throw Timeout(what, timeout);
            await WaitForSignalAsync(changed, remaining);
        }
    }

    private static async Task WaitForSignalAsync(Task signal, TimeSpan timeout)
    {
        try
        {
            await signal.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
        }
    }

    private TimeoutException Timeout(string what, TimeSpan timeout)
    {
        MimeMessage[] messages;
        string[] faults;
        bool running;
        lock (_gate)
        {
            messages = _messages.ToArray();
            faults = _faults.ToArray();
            running = _server is not null;
        }

        var text = $"Timed out after {timeout.TotalSeconds:0.#} s waiting for {what} on SMTP server " +
                   $"{Host}:{Port} ({(running ? "running" : "STOPPED")}). ";
        text += messages.Length == 0
            ? "No e-mails were received."
            : $"Received {messages.Length} e-mail(s):" +
              string.Concat(messages.Select((m, i) => $"{Environment.NewLine}  [{i}] {Describe(m)}"));
        if (faults.Length > 0)
            text += $"{Environment.NewLine}SMTP session faults: {string.Join(" | ", faults)}";
        return new TimeoutException(text);
    }

    private static string Describe(MimeMessage m)
    {
        var to = string.Join(", ", m.To.Mailboxes.Concat(m.Cc.Mailboxes).Concat(m.Bcc.Mailboxes).Select(a => a.Address));
        return $"Subject \"{m.Subject}\" To {(to.Length == 0 ? "(none)" : to)}";
    }

    private void OnMessage(MimeMessage message)
    {
        TaskCompletionSource changed;
        lock (_gate)
        {
            _messages.Add(message);
            changed = _changed;
            _changed = NewSignal();
        }
        changed.TrySetResult();
    }

    private sealed class Store(TestSmtpServer owner) : SmtpMessageStore
    {
        public override Task<SmtpResponse> SaveAsync(
            SmtpISessionContext context, SmtpIMessageTransaction transaction,
            ReadOnlySequence<byte> buffer, CancellationToken cancellationToken)
        {
            using var stream = new MemoryStream(buffer.ToArray(), writable: false);
            var message = MimeMessage.Load(stream, cancellationToken);
            owner.OnMessage(message);
            return Task.FromResult(SmtpResponse.Ok);
        }
    }
}
