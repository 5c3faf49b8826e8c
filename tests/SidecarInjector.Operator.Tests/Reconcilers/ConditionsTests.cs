using k8s.Models;
using SidecarInjector.Operator.Reconcilers;

namespace SidecarInjector.Operator.Tests.Reconcilers;

/// <summary>metav1.Condition rules, on plain values: lastTransitionTime moves only when the status flips.</summary>
public sealed class ConditionsTests
{
    private static readonly DateTime T0 = new(2026, 1, 2, 3, 4, 5, 678, DateTimeKind.Utc);

    [Fact]
    public void A_new_condition_is_added_with_the_time_truncated_to_seconds()
    {
        var list = Conditions.Set(null, Conditions.Ready, true, "AllGood", "ok", 3, T0);

        var ready = Assert.Single(list);
        Assert.Equal(("Ready", "True", "AllGood", "ok", 3L), (ready.Type, ready.Status, ready.Reason, ready.Message, ready.ObservedGeneration!.Value));
        Assert.Equal(new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc), ready.LastTransitionTime);
    }

    [Fact]
    public void The_transition_time_stays_while_the_status_stays_and_moves_when_it_flips()
    {
        var first = Conditions.Set(null, Conditions.Ready, true, "A", "a", 1, T0);
        var same = Conditions.Set(first, Conditions.Ready, true, "B", "b", 2, T0.AddMinutes(5));
        var flipped = Conditions.Set(same, Conditions.Ready, false, "C", "c", 3, T0.AddMinutes(10));

        Assert.Equal(first[0].LastTransitionTime, same[0].LastTransitionTime);
        Assert.Equal(("B", "b", 2L), (same[0].Reason, same[0].Message, same[0].ObservedGeneration!.Value));
        Assert.Equal(T0.AddMinutes(10).AddTicks(-(T0.Ticks % TimeSpan.TicksPerSecond)), flipped[0].LastTransitionTime);
        Assert.Equal("False", flipped[0].Status);
    }

    [Fact]
    public void Setting_one_type_leaves_the_others_and_never_changes_the_input()
    {
        var input = new List<V1Condition> { new() { Type = Conditions.Degraded, Status = "False", Reason = "Fine", LastTransitionTime = T0 } };

        var list = Conditions.Set(input, Conditions.Ready, true, "AllGood", "ok", 1, T0);
        list[0].Status = "True";

        Assert.Equal(2, list.Count);
        Assert.Equal("False", input[0].Status);
        Assert.True(Conditions.IsTrue(list, Conditions.Ready));
        Assert.False(Conditions.IsTrue(input, Conditions.Degraded));
        Assert.Null(Conditions.Find(input, Conditions.Ready));
    }
}
