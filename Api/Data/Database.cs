using FluentValidation;
using AccountsApi.Infrastructure;
using Dapper;
using Npgsql;

namespace AccountsApi.Data;

public static class Database
{
    /// <summary>Accepts a postgres:// URL (as hosting platforms hand out) or an Npgsql connection string.</summary>
    public static string ToConnectionString(string databaseUrl, DatabaseOptions options)
    {
        var builder = databaseUrl.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase)
                      || databaseUrl.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase)
            ? FromUrl(new Uri(databaseUrl))
            : new NpgsqlConnectionStringBuilder(databaseUrl);
        builder.MinPoolSize = options.PoolMin;
        builder.MaxPoolSize = options.PoolMax;
        builder.Timeout = options.ConnectTimeoutSeconds;
        builder.CommandTimeout = options.CommandTimeoutSeconds;
        builder.ApplicationName ??= "accounts-api";
        return builder.ConnectionString;
    }

    static NpgsqlConnectionStringBuilder FromUrl(Uri url)
    {
        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = url.Host,
            Port = url.IsDefaultPort || url.Port <= 0 ? 5432 : url.Port,
            Database = Uri.UnescapeDataString(url.AbsolutePath.TrimStart('/')) is { Length: > 0 } db ? db : "postgres",
        };
        var userInfo = url.UserInfo.Split(':', 2);
        if (userInfo[0].Length > 0) builder.Username = Uri.UnescapeDataString(userInfo[0]);
        if (userInfo.Length > 1) builder.Password = Uri.UnescapeDataString(userInfo[1]);
        foreach (var pair in url.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var kv = pair.Split('=', 2);
            var key = Uri.UnescapeDataString(kv[0]).ToLowerInvariant();
            var value = kv.Length > 1 ? Uri.UnescapeDataString(kv[1]) : "";
            if (key == "sslmode") builder.SslMode = Enum.Parse<SslMode>(value.Replace("-", ""), ignoreCase: true);
            else builder[key] = value;
        }
        return builder;
    }

    public static IServiceCollection AddDatabase(this IServiceCollection services, string connectionString)
    {
        DefaultTypeMap.MatchNamesWithUnderscores = true;
        services.AddSingleton(new ConnectionString(connectionString));
        services.AddSingleton(_ => new NpgsqlDataSourceBuilder(connectionString).Build());
        return services;
    }
}

/// <summary>The full connection string (NpgsqlDataSource.ConnectionString drops the password).</summary>
public sealed record ConnectionString(string Value);

public static class AccountsServices
{
    /// <summary>Repositories, hashing, sign-in and validators: the account feature's services.</summary>
    public static IServiceCollection AddAccounts(this IServiceCollection services)
    {
        Infrastructure.ValidationFilter.ConfigureFluentValidation();
        services.AddValidatorsFromAssemblyContaining<Program>(ServiceLifetime.Singleton);
        services.AddSingleton<UserRepository>();
        services.AddSingleton<SessionRepository>();
        services.AddSingleton<AccountLogRepository>();
        services.AddSingleton<Security.PasswordHasher>();
        services.AddSingleton<Security.SignInService>();
        services.AddSingleton<EmailOutboxRepository>();
        services.AddSingleton<EmailTokenRepository>();
        services.AddSingleton<Email.AccountEmails>();
        services.AddSingleton<Email.MailTransport>();
        services.AddSingleton<Email.AnonymousMailRequests>();
        services.AddSingleton<Email.EmailSender>();
        services.AddSingleton<MaintenanceRepository>();
        return services;
    }

    /// <summary>The work that runs beside requests; only when serving (not for `migrate` or `openapi`).</summary>
    public static IServiceCollection AddBackgroundWork(this IServiceCollection services)
    {
        services.AddHostedService<Security.SessionRevocationListener>();
        services.AddHostedService(sp => sp.GetRequiredService<Email.AnonymousMailRequests>());
        services.AddHostedService(sp => sp.GetRequiredService<Email.EmailSender>());
        services.AddHostedService<MaintenanceService>();
        return services;
    }
}
