namespace AccountsApi.Tests.Infrastructure;

public static class Repository
{
    /// <summary>The folder holding AccountsApi.sln, found from the test binaries upwards.</summary>
    public static string Root { get; } = Find();

    static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "AccountsApi.sln"))) return dir.FullName;
        throw new InvalidOperationException("AccountsApi.sln not found above " + AppContext.BaseDirectory);
    }
}
