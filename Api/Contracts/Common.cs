using System.Globalization;
using System.Net.Mail;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace AccountsApi.Contracts;

public sealed record MessageResponse(string Message);

public static class Emails
{
    public const int MaxLength = 254;

    /// <summary>The uniqueness key: trimmed, Unicode NFKC, lower-cased. The address itself is stored as given.</summary>
    public static string Normalize(string email) => email.Trim().Normalize(NormalizationForm.FormKC).ToLowerInvariant();

    public static bool IsValid(string? email)
    {
        if (string.IsNullOrWhiteSpace(email) || email.Length > MaxLength || email.Any(c => char.IsControl(c) || char.IsWhiteSpace(c)))
            return false;
        if (!MailAddress.TryCreate(email, out var parsed) || parsed.Address != email || parsed.DisplayName.Length > 0) return false;
        var at = email.LastIndexOf('@');
        return at > 0 && email.IndexOf('.', at) > at + 1 && !email.EndsWith('.');
    }
}

public static class Names
{
    public const int MaxLength = 100;

    /// <summary>Free text of 1–100 characters: any printable Unicode, no control characters.</summary>
    public static string? Problem(string? name)
    {
        if (string.IsNullOrEmpty(name) || string.IsNullOrWhiteSpace(name)) return "is required";
        if (new StringInfo(name).LengthInTextElements > MaxLength) return $"must be at most {MaxLength} characters";
        if (name.Any(char.IsControl)) return "must not contain control characters (such as line breaks)";
        return null;
    }
}

/// <summary>Dates of birth arrive as "YYYY-MM-DD", or as "YYYY-MM-DDT00:00:00" from the predecessor's pages.</summary>
public sealed class FlexibleDateOnlyConverter : JsonConverter<DateOnly>
{
    public override DateOnly Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var text = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
        if (DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date)) return date;
        if (DateTime.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var dateTime)
            && text!.Length >= 10 && DateOnly.TryParseExact(text[..10], "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out date))
            return date;
        throw new JsonException("must be a date: YYYY-MM-DD");
    }

    public override void Write(Utf8JsonWriter writer, DateOnly value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
}

/// <summary>
/// A PATCH field that tells "absent" (leave as is) from an explicit null (clear it).
/// </summary>
[JsonConverter(typeof(OptionalConverterFactory))]
public readonly record struct Optional<T>(bool IsSet, T? Value);

public sealed class OptionalConverterFactory : JsonConverterFactory
{
    public override bool CanConvert(Type typeToConvert) =>
        typeToConvert.IsGenericType && typeToConvert.GetGenericTypeDefinition() == typeof(Optional<>);

    public override JsonConverter CreateConverter(Type typeToConvert, JsonSerializerOptions options) =>
        (JsonConverter)Activator.CreateInstance(typeof(OptionalConverter<>).MakeGenericType(typeToConvert.GetGenericArguments()[0]))!;

    sealed class OptionalConverter<T> : JsonConverter<Optional<T>>
    {
        public override bool HandleNull => true;

        // The inner converter reads in the outer call's state, so a bad value's error names this field's path.
        public override Optional<T> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.TokenType == JsonTokenType.Null
                ? new(true, default)
                : new(true, ((JsonConverter<T>)options.GetConverter(typeof(T))).Read(ref reader, typeof(T), options));

        public override void Write(Utf8JsonWriter writer, Optional<T> value, JsonSerializerOptions options) =>
            JsonSerializer.Serialize(writer, value.Value, options);
    }
}
