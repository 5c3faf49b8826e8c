using System.Text;

namespace SidecarInjector.Testing.LocalKubelet;

/// <summary>
/// Kubernetes' <c>$(VAR)</c> expansion (third_party/forked/golang/expansion): a defined variable is
/// replaced, an undefined one stays as written, <c>$$</c> is a literal <c>$</c>.
/// </summary>
public static class VarExpansion
{
    public static string Expand(string input, IReadOnlyDictionary<string, string> variables)
    {
        var output = new StringBuilder(input.Length);
        var i = 0;
        while (i < input.Length)
        {
            if (input[i] != '$' || i + 1 >= input.Length)
            {
                output.Append(input[i++]);
                continue;
            }

            var next = input[i + 1];
            if (next == '$')
            {
                output.Append('$');
                i += 2;
            }
            else if (next == '(')
            {
                var close = input.IndexOf(')', i + 2);
                if (close < 0)
                {
                    // An unterminated reference is kept as written.
                    output.Append("$(");
                    i += 2;
                    continue;
                }

                var name = input[(i + 2)..close];
                output.Append(variables.TryGetValue(name, out var value) ? value : $"$({name})");
                i = close + 1;
            }
            else
            {
                output.Append('$').Append(next);
                i += 2;
            }
        }

        return output.ToString();
    }
}
