using System.Security.Cryptography;
using System.Text;
using AccountsApi.Infrastructure;
using BCrypt.Net;
using Microsoft.Extensions.Options;

namespace AccountsApi.Security;

public readonly record struct PasswordCheck(bool Valid, bool NeedsRehash);

/// <summary>
/// New hashes: BCrypt over a SHA-384 pre-hash (BCrypt.Net's enhanced mode), so passwords longer than
/// bcrypt's 72 bytes are not truncated; stored with a prefix that names the scheme. Legacy hashes verify
/// and ask to be rehashed: plain bcrypt ($2a$/$2b$/$2y$, from Chatter) and Werkzeug pbkdf2:sha256.
/// Hashing is CPU-bound (about 0.1 s at cost 11): at most one hash per core runs at a time and the rest
/// wait without holding a thread, so a burst of sign-ins cannot starve the thread pool (which would
/// stall unrelated database I/O until connections time out).
/// </summary>
public sealed class PasswordHasher(IOptions<SecurityOptions> options)
{
    const string Prefix = "bcrypt-sha384:";
    readonly Lazy<string> dummyHash = new(() => Hash("not-a-real-password", options.Value.BcryptWorkFactor));
    readonly SemaphoreSlim gate = new(Environment.ProcessorCount, Environment.ProcessorCount);

    int WorkFactor => options.Value.BcryptWorkFactor;

    public Task<string> HashAsync(string password) => Gated(() => Hash(password, WorkFactor));

    public Task<PasswordCheck> VerifyAsync(string password, string storedHash) => Gated(() => Verify(password, storedHash));

    /// <summary>Spends the same time as a real check, for sign-ins of accounts that do not exist.</summary>
    public Task VerifyDummyAsync(string password) => Gated(() => Verify(password, dummyHash.Value));

    async Task<T> Gated<T>(Func<T> work)
    {
        await gate.WaitAsync();
        try { return work(); }
        finally { gate.Release(); }
    }

    static string Hash(string password, int workFactor) =>
        Prefix + BCrypt.Net.BCrypt.EnhancedHashPassword(password, HashType.SHA384, workFactor);

    PasswordCheck Verify(string password, string storedHash)
    {
        try
        {
            if (storedHash.StartsWith(Prefix, StringComparison.Ordinal))
            {
                var hash = storedHash[Prefix.Length..];
                var valid = BCrypt.Net.BCrypt.EnhancedVerify(password, hash, HashType.SHA384);
                return new(valid, valid && BCrypt.Net.BCrypt.PasswordNeedsRehash(hash, WorkFactor));
            }
            if (storedHash.StartsWith("$2", StringComparison.Ordinal))
                return new(BCrypt.Net.BCrypt.Verify(password, storedHash), NeedsRehash: true);
            if (storedHash.StartsWith("pbkdf2:", StringComparison.Ordinal))
                return new(VerifyWerkzeug(password, storedHash), NeedsRehash: true);
        }
        catch (SaltParseException) { }
        catch (FormatException) { }
        return new(false, false);
    }

    /// <summary>Werkzeug's generate_password_hash format: pbkdf2:sha256:ITERATIONS$SALT$HEX.</summary>
    static bool VerifyWerkzeug(string password, string stored)
    {
        var parts = stored.Split('$');
        if (parts.Length != 3) return false;
        var method = parts[0].Split(':');
        if (method.Length < 2 || method[1] != "sha256") return false;
        var iterations = method.Length > 2 && int.TryParse(method[2], out var n) ? n : 260000;
        if (iterations is < 1 or > 10_000_000) return false;
        var expected = Convert.FromHexString(parts[2]);
        var actual = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), Encoding.UTF8.GetBytes(parts[1]),
            iterations, HashAlgorithmName.SHA256, expected.Length);
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }
}
