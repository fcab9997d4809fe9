using AccountsApi.Data;
using AccountsApi.Infrastructure;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AccountsApi.Email;

/// <summary>
/// Drains the outbox: claims due mail (SKIP LOCKED, so instances share the work), sends it, and records
/// the outcome. A failure is retried with doubling back-off; a sent message is never claimed again.
/// Wakes on NOTIFY email_outbox, and polls every EMAIL_POLL_SECONDS in case a notification was missed.
/// </summary>
public sealed class EmailSender(
    EmailOutboxRepository outbox, MailTransport transport, ConnectionString connectionString,
    IOptions<EmailOptions> options, ILogger<EmailSender> logger) : BackgroundService
{
    const int BatchSize = 20;
    static readonly TimeSpan ClaimFor = TimeSpan.FromMinutes(2);
    readonly SemaphoreSlim wake = new(0);

    protected override async Task ExecuteAsync(CancellationToken ct)
    {
        if (!transport.CanSend)
        {
            logger.LogWarning("SMTP_HOST is unset: mail is queued in email_outbox but not sent until it is configured");
            return;
        }
        _ = Task.Run(() => ListenAsync(ct), ct);
        while (!ct.IsCancellationRequested)
        {
            try
            {
                while (await SendDueAsync(ct) == BatchSize) { }
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException)
            {
                logger.LogWarning("Email sender cannot reach the database: {Error}", e.Message);
            }
            try { await wake.WaitAsync(TimeSpan.FromSeconds(options.Value.PollSeconds), ct); }
            catch (OperationCanceledException) { }
        }
    }

    /// <summary>One batch; answers how many messages it claimed.</summary>
    public async Task<int> SendDueAsync(CancellationToken ct)
    {
        var messages = await outbox.ClaimDueAsync(BatchSize, ClaimFor);
        if (messages.Count == 0) return 0;
        await transport.SendAsync(messages, async (message, error) =>
        {
            if (error is null)
            {
                await outbox.MarkSentAsync(message.Id);
                return;
            }
            var retryIn = TimeSpan.FromSeconds(Math.Min(3600, options.Value.RetryBaseSeconds * Math.Pow(2, message.Attempts - 1)));
            await outbox.MarkFailedAsync(message.Id, Describe(error), retryIn, options.Value.MaxAttempts);
            logger.LogWarning("Mail {Id} ({Kind}) attempt {Attempt} failed, retrying in {Seconds} s: {Error}",
                message.Id, message.Kind, message.Attempts, retryIn.TotalSeconds, Describe(error));
        }, ct);
        return messages.Count;
    }

    static string Describe(Exception error) => $"{error.GetType().Name}: {error.Message}" is var text && text.Length > 500 ? text[..500] : text;

    Task ListenAsync(CancellationToken ct) =>
        NotificationListener.ListenAsync(connectionString.Value, EmailOutboxRepository.Channel,
            _ => { if (wake.CurrentCount == 0) wake.Release(); }, _ => Task.CompletedTask, logger, ct);

    public override void Dispose()
    {
        wake.Dispose();
        base.Dispose();
    }
}
