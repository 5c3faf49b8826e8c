namespace SidecarInjector.SidecarConfig.Schema;

/// <summary>One thing wrong with a document: the dotted field path and what is wrong with it.</summary>
public sealed record ValidationProblem(string Field, string Message)
{
    public override string ToString() => $"{Field}: {Message}";
}
