using Xunit.Sdk;
using Xunit.v3;

namespace SidecarInjector.E2E.Tests.TestSupport;

/// <summary>
/// Runs a class's tests in the order they are declared (the compiler emits methods in source
/// order, so their metadata tokens follow it): for a class whose tests share a fixture they
/// change on purpose, one after the other, as the fault tests of a local install do.
/// </summary>
public sealed class DeclarationOrder : ITestCaseOrderer
{
    public IReadOnlyCollection<TTestCase> OrderTestCases<TTestCase>(IReadOnlyCollection<TTestCase> testCases)
        where TTestCase : notnull, ITestCase =>
        [.. testCases.OrderBy(t => t is IXunitTestCase x ? x.TestMethod.Method.MetadataToken : int.MaxValue)];
}
