using System.Reflection;
using System.Text.Json.Serialization;

namespace SidecarInjector.Crds.Schema;

/// <summary>The wire names of an enum's members, as its JsonStringEnumConverter writes them.</summary>
public static class EnumNames
{
    public static IReadOnlyList<string> Of(Type enumType) =>
        enumType.GetFields(BindingFlags.Public | BindingFlags.Static)
            .Select(f => f.GetCustomAttribute<JsonStringEnumMemberNameAttribute>()?.Name ?? f.Name)
            .ToList();

    public static string Of<T>(T value)
        where T : struct, Enum
    {
        var field = typeof(T).GetField(value.ToString());
        return field?.GetCustomAttribute<JsonStringEnumMemberNameAttribute>()?.Name ?? value.ToString();
    }
}
