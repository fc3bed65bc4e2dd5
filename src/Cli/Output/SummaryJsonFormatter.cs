using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using Torchwright.Dsl.Model;

namespace Torchwright.Cli.Output
{
    /// <summary>
    /// The machine-readable summary. A CONTRACT other tools read (see docs/cli.md): an array with one object per
    /// architecture, then one per sweep variant (named by its stable variant name):
    /// <c>{"name", "input": [C,H,W], "params", "macs", "macs_without_attention",
    ///    "layers": [{"path", "kind", "output": [C,H,W], "params", "macs"}]}</c>. Numbers are JSON integers.
    /// Change it only by adding keys.
    /// </summary>
    internal static class SummaryJsonFormatter
    {
        public static void Write(TextWriter w, SummaryDocument doc)
        {
            using var stream = new MemoryStream();
            using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
            {
                json.WriteStartArray();
                foreach (var a in doc.Architectures.Concat(doc.Sweeps.SelectMany(s => s.Variants)))
                    WriteArchitecture(json, a);
                json.WriteEndArray();
            }
            w.WriteLine(Encoding.UTF8.GetString(stream.ToArray()));
        }

        private static void WriteArchitecture(Utf8JsonWriter json, ArchSummary a)
        {
            json.WriteStartObject();
            json.WriteString("name", a.Name);
            WriteShape(json, "input", a.Input);
            json.WriteNumber("params", a.Params);
            json.WriteNumber("macs", a.Macs);
            json.WriteNumber("macs_without_attention", a.MacsWithoutAttention);
            if (a.FeatureNote != null) json.WriteString("features", a.FeatureNote);
            json.WriteStartArray("layers");
            foreach (var l in a.Layers)
            {
                json.WriteStartObject();
                json.WriteString("path", l.Path);
                json.WriteString("kind", l.Kind);
                WriteShape(json, "output", l.Output);
                json.WriteNumber("params", l.Params);
                json.WriteNumber("macs", l.Macs);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }

        private static void WriteShape(Utf8JsonWriter json, string name, Shape s)
        {
            json.WriteStartArray(name);
            json.WriteNumberValue(s.C);
            json.WriteNumberValue(s.H);
            json.WriteNumberValue(s.W);
            json.WriteEndArray();
        }
    }
}
