using System.Collections.Generic;

namespace Torchwright.Dsl.Emit
{
    /// <summary>
    /// A registered top-level submodule of a generated class: its state-dict name, C# type and construction. <see cref="Items"/>
    /// lists a container's children, one per line (<see cref="Create"/> is then the container's factory).
    /// </summary>
    public sealed record EmittedPart(string Name, string Type, string Create, IReadOnlyList<string>? Items = null);
}
