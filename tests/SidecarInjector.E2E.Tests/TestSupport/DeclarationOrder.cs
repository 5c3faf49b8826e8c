using Xunit.Sdk;
using Xunit.v3;

namespace SidecarInjector.E2E.Tests.TestSupport;

/// <summary>
/// Runs a class's test methods in the order they are declared (the compiler emits methods in
/// source order, so their metadata tokens follow it): for a class whose tests share a fixture they
/// change on purpose, one after the other, as the fault tests of a local install do.
/// </summary>
public sealed class DeclarationOrder : ITestMethodOrderer
{
    public IReadOnlyCollection<TTestMethod?> OrderTestMethods<TTestMethod>(IReadOnlyCollection<TTestMethod?> testMethods)
        where TTestMethod : notnull, ITestMethod =>
        [.. testMethods.OrderBy(m => m is IXunitTestMethod x ? x.Method.MetadataToken : int.MaxValue)];
}
