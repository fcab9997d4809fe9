using AccountsApi.Data;
using AccountsApi.Infrastructure;
using MailKit.Security;
using Microsoft.Extensions.Options;
using MimeKit;

namespace AccountsApi.Email;

/// <summary>Hands claimed outbox messages to SMTP (MailKit), or in Development without SMTP_HOST writes them to a folder.</summary>
public sealed class MailTransport(IOptions<SmtpOptions> options, IHostEnvironment environment, ILogger<MailTransport> logger)
{
    SmtpOptions Smtp => options.Value;

    public bool WritesToFolder => string.IsNullOrWhiteSpace(Smtp.Host) && environment.IsDevelopment();
    public bool CanSend => !string.IsNullOrWhiteSpace(Smtp.Host) || WritesToFolder;

    /// <summary>Sends each message; the callback learns each one's fate as soon as it is known.</summary>
    public async Task SendAsync(IReadOnlyList<OutboxMessage> messages, Func<OutboxMessage, Exception?, Task> done, CancellationToken ct)
    {
        if (WritesToFolder)
        {
            foreach (var message in messages)
            {
                Exception? error = null;
                try { await WriteToFolderAsync(message, ct); }
                catch (IOException e) { error = e; }
                await done(message, error);
            }
            return;
        }

        using var client = new MailKit.Net.Smtp.SmtpClient { Timeout = 15_000 };
        try
        {
            await client.ConnectAsync(Smtp.Host!, Smtp.Port, TlsOption(Smtp.Tls), ct);
            if (!string.IsNullOrEmpty(Smtp.User)) await client.AuthenticateAsync(Smtp.User, Smtp.Password ?? "", ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            foreach (var message in messages) await done(message, e);
            return;
        }
        foreach (var message in messages)
        {
            Exception? error = null;
            try { await client.SendAsync(ToMime(message), ct); }
            catch (Exception e) when (e is not OperationCanceledException) { error = e; }
            await done(message, error);
        }
        try { await client.DisconnectAsync(quit: true, ct); }
        catch (Exception e) when (e is not OperationCanceledException) { logger.LogDebug("SMTP disconnect failed: {Error}", e.Message); }
    }

    async Task WriteToFolderAsync(OutboxMessage message, CancellationToken ct)
    {
        var folder = Path.GetFullPath(Smtp.MailDropDirectory, Hosting.WorkingRoot());
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, $"{DateTime.UtcNow:yyyyMMdd-HHmmss}-{message.Id}-{message.Kind}.eml");
        await using (var file = File.Create(path)) await ToMime(message).WriteToAsync(file, ct);
        // The path, not the link: one-time tokens never go into logs. Open the .eml file to follow the link.
        logger.LogInformation("Development mail ({Kind}) written to {Path}", message.Kind, path);
    }

    MimeMessage ToMime(OutboxMessage message)
    {
        var mime = new MimeMessage();
        mime.From.Add(MailboxAddress.Parse(Smtp.From));
        mime.To.Add(MailboxAddress.Parse(message.ToAddress));
        mime.Subject = message.Subject;
        mime.MessageId = $"outbox-{message.Id}@{mime.From.Mailboxes.First().Domain}";
        mime.Body = new BodyBuilder { TextBody = message.TextBody, HtmlBody = message.HtmlBody }.ToMessageBody();
        return mime;
    }

    static SecureSocketOptions TlsOption(string mode) => mode switch
    {
        "tls" => SecureSocketOptions.SslOnConnect,
        "starttls" => SecureSocketOptions.StartTls,
        "none" => SecureSocketOptions.None,
        _ => SecureSocketOptions.StartTlsWhenAvailable,
    };
}
