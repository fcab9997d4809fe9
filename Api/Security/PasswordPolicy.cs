namespace AccountsApi.Security;

/// <summary>The predecessor's rules (8+ characters, upper, lower, digit) plus a common-password blocklist.</summary>
public static class PasswordPolicy
{
    public const int MinLength = 8;
    public const int MaxLength = 128;

    static readonly HashSet<string> Common = LoadBlocklist();

    /// <summary>The first rule the password breaks, as a message fragment ("must contain a digit"), or null.</summary>
    public static string? Problem(string? password)
    {
        if (string.IsNullOrEmpty(password)) return "is required";
        if (password.Length < MinLength) return $"must be at least {MinLength} characters";
        if (password.Length > MaxLength) return $"must be at most {MaxLength} characters";
        if (!password.Any(char.IsUpper)) return "must contain an upper-case letter";
        if (!password.Any(char.IsLower)) return "must contain a lower-case letter";
        if (!password.Any(char.IsDigit)) return "must contain a digit";
        if (IsCommon(password)) return "is too common; choose one that is harder to guess";
        return null;
    }

    public static bool IsCommon(string password) => Common.Contains(password.ToLowerInvariant());

    public static int BlocklistSize => Common.Count;

    static HashSet<string> LoadBlocklist()
    {
        using var stream = typeof(PasswordPolicy).Assembly.GetManifestResourceStream("common-passwords.txt")
            ?? throw new InvalidOperationException("The common-password blocklist is not embedded.");
        using var reader = new StreamReader(stream);
        var set = new HashSet<string>(StringComparer.Ordinal);
        while (reader.ReadLine() is { } line)
            if (line.Length > 0) set.Add(line.Trim().ToLowerInvariant());
        return set;
    }
}
