using System.Net;

namespace AccountsApi.Email;

public sealed record EmailContent(string Kind, string Subject, string Text, string Html);

/// <summary>
/// Plain text + HTML for every mail the service sends. One-time links point at pages of the site
/// (PUBLIC_SITE_URL) that POST the token back, so a mail scanner opening the link consumes nothing.
/// </summary>
public static class EmailTemplates
{
    public static EmailContent VerifyEmail(string name, string link, int validHours) => Build("verify_email",
        "Confirm your email address",
        name,
        [$"Please confirm your email address by opening the link below. It is valid for {validHours} hours."],
        ("Confirm email address", link),
        "If you did not create an account, you can ignore this mail.");

    public static EmailContent ConfirmEmailChange(string name, string newEmail, string link, int validHours) => Build("email_change",
        "Confirm your new email address",
        name,
        [$"Please confirm {newEmail} as the new email address of your account by opening the link below. It is valid for {validHours} hours."],
        ("Confirm new email address", link),
        "If you did not ask for this change, ignore this mail: your address stays as it is.");

    public static EmailContent PasswordReset(string name, string link, int validMinutes) => Build("password_reset",
        "Reset your password",
        name,
        [$"Someone (hopefully you) asked to reset the password of your account. Open the link below to choose a new one. It is valid for {validMinutes} minutes and works once."],
        ("Choose a new password", link),
        "If you did not ask for this, ignore this mail: your password stays as it is.");

    public static EmailContent EmailChanged(string name, string newEmail) => Build("email_changed",
        "Your email address was changed",
        name,
        [$"The email address of your account was changed to {Mask(newEmail)}. Mail about the account now goes there."],
        null,
        "If you did not make this change, reset your password at once and contact the site's owner.");

    public static EmailContent PasswordChanged(string name) => Build("password_changed",
        "Your password was changed",
        name,
        ["The password of your account was just changed, and every other session was signed out."],
        null,
        "If you did not make this change, reset your password at once.");

    public static EmailContent NewSignIn(string name, string? ipAddress, string? userAgent, DateTime at) => Build("new_sign_in",
        "New sign-in to your account",
        name,
        [$"Your account was signed in to from a device or address we have not seen before, at {at:yyyy-MM-dd HH:mm} UTC.",
         $"Address: {ipAddress ?? "unknown"}", $"Device: {userAgent ?? "unknown"}"],
        null,
        "If this was not you, change your password and sign out every session from your account page.");

    public static EmailContent AccountLocked(string name, DateTime until) => Build("account_locked",
        "Your account was locked",
        name,
        [$"After several failed sign-in attempts your account is locked until {until:yyyy-MM-dd HH:mm} UTC."],
        null,
        "If this was not you, someone may be guessing your password: consider resetting it. A password reset also lifts the lock.");

    /// <summary>a***@example.com: enough for the owner to recognise, little for anyone else.</summary>
    public static string Mask(string email)
    {
        var at = email.IndexOf('@');
        return at <= 1 ? email : email[0] + new string('*', Math.Min(at - 1, 3)) + email[at..];
    }

    static EmailContent Build(string kind, string subject, string name, string[] paragraphs, (string Label, string Url)? action, string footer)
    {
        var text = $"Hello {name},\n\n{string.Join("\n\n", paragraphs)}\n\n"
                   + (action is { } a ? $"{a.Label}: {a.Url}\n\n" : "")
                   + footer + "\n";
        Func<string?, string?> e = WebUtility.HtmlEncode;
        var html = $"""
            <!doctype html>
            <html><body style="font-family: sans-serif; line-height: 1.5; max-width: 36em">
            <p>Hello {e(name)},</p>
            {string.Concat(paragraphs.Select(p => $"<p>{e(p)}</p>"))}
            {(action is { } b ? $"<p><a href=\"{e(b.Url)}\" style=\"display:inline-block;padding:.6em 1.2em;background:#2457d6;color:#fff;text-decoration:none;border-radius:4px\">{e(b.Label)}</a></p><p style=\"font-size:.85em;color:#555\">Or paste this address into your browser: {e(b.Url)}</p>" : "")}
            <p style="font-size:.85em;color:#555">{e(footer)}</p>
            </body></html>
            """;
        return new EmailContent(kind, subject, text, html);
    }
}
