using System;
using System.Collections.Generic;
using System.IO;
using System.IO.MemoryMappedFiles;
using System.Linq;
using System.Text;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace Torchwright.Runtime.Weights
{
    /// <summary>
    /// Reader and writer for the safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian
    /// header length, a UTF-8 JSON header <c>{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {..}}</c>,
    /// then the raw little-endian tensor bytes.  Supported dtypes: F32, F16, BF16, I64 (plus F64, I32, I16, I8, U8, BOOL).
    /// Reading memory-maps the file and copies each tensor once, straight into the tensor's storage.
    /// </summary>
    public static class SafeTensors
    {
        /// <summary>Largest header accepted (the reference implementation uses 100 MB).</summary>
        public const long MaxHeaderBytes = 100L * 1024 * 1024;

        private static readonly (string Name, ScalarType Type, int Size)[] DTypes =
        {
            ("F32", ScalarType.Float32, 4),
            ("F16", ScalarType.Float16, 2),
            ("BF16", ScalarType.BFloat16, 2),
            ("I64", ScalarType.Int64, 8),
            ("F64", ScalarType.Float64, 8),
            ("I32", ScalarType.Int32, 4),
            ("I16", ScalarType.Int16, 2),
            ("I8", ScalarType.Int8, 1),
            ("U8", ScalarType.Byte, 1),
            ("BOOL", ScalarType.Bool, 1),
        };

        /// <summary>The safetensors dtype name of a torch scalar type.</summary>
        public static string DTypeName(ScalarType type)
        {
            foreach (var d in DTypes)
                if (d.Type == type)
                    return d.Name;
            throw new NotSupportedException($"safetensors: dtype {type} is not supported (supported: {string.Join(", ", DTypes.Select(d => d.Name))}).");
        }

        /// <summary>Reads every tensor of the file (on the CPU).</summary>
        public static Dictionary<string, Tensor> Load(string path) => Load(path, out _);

        /// <summary>Reads every tensor of the file and its <c>__metadata__</c> map (empty when absent).</summary>
        public static unsafe Dictionary<string, Tensor> Load(string path, out Dictionary<string, string> metadata)
        {
            if (path is null) throw new ArgumentNullException(nameof(path));
            if (!BitConverter.IsLittleEndian)
                throw new PlatformNotSupportedException("safetensors: big-endian hosts are not supported.");
            long fileLength = new FileInfo(path).Length;
            if (fileLength < 8)
                throw new InvalidDataException($"safetensors '{path}': file is {fileLength} bytes, shorter than the 8-byte header length.");

            using var mmf = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
            using var view = mmf.CreateViewAccessor(0, fileLength, MemoryMappedFileAccess.Read);
            byte* basePtr = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref basePtr);
            var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            try
            {
                byte* start = basePtr + view.PointerOffset;
                long headerLength = BitConverter.ToInt64(new ReadOnlySpan<byte>(start, 8));
                if (headerLength <= 0 || headerLength > MaxHeaderBytes || 8 + headerLength > fileLength)
                    throw new InvalidDataException($"safetensors '{path}': header length {headerLength} is invalid for a {fileLength}-byte file.");
                var header = ParseHeader(path, new ReadOnlySpan<byte>(start + 8, (int)headerLength), out metadata);
                long dataStart = 8 + headerLength;
                long dataLength = fileLength - dataStart;
                foreach (var e in header)
                {
                    if (e.End > dataLength)
                        throw new InvalidDataException($"safetensors '{path}': tensor '{e.Name}' ends at byte {e.End} but the data section has {dataLength} bytes.");
                    var t = torch.empty(e.Shape, e.Type);
                    long n = e.End - e.Begin;
                    if (n > 0)
                    {
                        if (n > int.MaxValue)
                            throw new NotSupportedException($"safetensors '{path}': tensor '{e.Name}' is {n} bytes; tensors over 2 GiB are not supported.");
                        t.bytes = new Span<byte>(start + dataStart + e.Begin, (int)n);
                    }
                    result.Add(e.Name, t);
                }
                return result;
            }
            catch
            {
                foreach (var t in result.Values) t.Dispose();
                throw;
            }
            finally
            {
                view.SafeMemoryMappedViewHandle.ReleasePointer();
            }
        }

        /// <summary>Reads only the header: names, dtypes and shapes (no tensor data).</summary>
        public static IReadOnlyList<(string Name, string DType, long[] Shape)> ReadHeader(string path, out Dictionary<string, string> metadata)
        {
            using var fs = File.OpenRead(path);
            var lenBytes = new byte[8];
            if (fs.Read(lenBytes, 0, 8) != 8)
                throw new InvalidDataException($"safetensors '{path}': file is shorter than the 8-byte header length.");
            long headerLength = BitConverter.ToInt64(lenBytes, 0);
            if (headerLength <= 0 || headerLength > MaxHeaderBytes || 8 + headerLength > fs.Length)
                throw new InvalidDataException($"safetensors '{path}': header length {headerLength} is invalid for a {fs.Length}-byte file.");
            var buf = new byte[headerLength];
            fs.ReadExactly(buf, 0, buf.Length);
            return ParseHeader(path, buf, out metadata).Select(e => (e.Name, DTypeName(e.Type), e.Shape)).ToList();
        }

        /// <summary>Writes the tensors (moved to the CPU, made contiguous) sorted by name, with optional metadata.</summary>
        public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
        {
            if (path is null) throw new ArgumentNullException(nameof(path));
            if (tensors is null) throw new ArgumentNullException(nameof(tensors));
            if (!BitConverter.IsLittleEndian)
                throw new PlatformNotSupportedException("safetensors: big-endian hosts are not supported.");
            var names = tensors.Keys.OrderBy(k => k, StringComparer.Ordinal).ToArray();
            using var scope = torch.NewDisposeScope();
            var cpu = new Tensor[names.Length];
            var header = new MemoryStream();
            using (var w = new Utf8JsonWriter(header))
            {
                w.WriteStartObject();
                if (metadata is not null && metadata.Count > 0)
                {
                    w.WriteStartObject("__metadata__");
                    foreach (var kv in metadata.OrderBy(k => k.Key, StringComparer.Ordinal))
                        w.WriteString(kv.Key, kv.Value);
                    w.WriteEndObject();
                }
                long offset = 0;
                for (int i = 0; i < names.Length; i++)
                {
                    if (names[i] == "__metadata__")
                        throw new ArgumentException("safetensors: '__metadata__' is reserved and cannot name a tensor.", nameof(tensors));
                    var t = tensors[names[i]].detach().cpu().contiguous();
                    cpu[i] = t;
                    long n = t.numel() * ElementSize(t.dtype);
                    w.WriteStartObject(names[i]);
                    w.WriteString("dtype", DTypeName(t.dtype));
                    w.WriteStartArray("shape");
                    foreach (var d in t.shape) w.WriteNumberValue(d);
                    w.WriteEndArray();
                    w.WriteStartArray("data_offsets");
                    w.WriteNumberValue(offset);
                    w.WriteNumberValue(offset + n);
                    w.WriteEndArray();
                    w.WriteEndObject();
                    offset += n;
                }
                w.WriteEndObject();
            }
            // Pad the header with spaces so the data section starts 8-byte aligned (as the reference writer does).
            int pad = (int)((8 - header.Length % 8) % 8);
            for (int i = 0; i < pad; i++) header.WriteByte((byte)' ');

            var dir = Path.GetDirectoryName(Path.GetFullPath(path));
            if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
            var tmp = path + ".tmp";
            using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
            {
                fs.Write(BitConverter.GetBytes(header.Length));
                header.Position = 0;
                header.CopyTo(fs);
                foreach (var t in cpu)
                    if (t.numel() > 0)
                        fs.Write(t.bytes);
            }
            File.Move(tmp, path, overwrite: true);
        }

        private static int ElementSize(ScalarType type)
        {
            foreach (var d in DTypes)
                if (d.Type == type)
                    return d.Size;
            throw new NotSupportedException($"safetensors: dtype {type} is not supported.");
        }

        private readonly record struct Entry(string Name, ScalarType Type, long[] Shape, long Begin, long End);

        private static List<Entry> ParseHeader(string path, ReadOnlySpan<byte> json, out Dictionary<string, string> metadata)
        {
            metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var entries = new List<Entry>();
            JsonDocument doc;
            try
            {
                var reader = new Utf8JsonReader(json.TrimEnd((byte)' '));
                doc = JsonDocument.ParseValue(ref reader);
            }
            catch (JsonException ex)
            {
                throw new InvalidDataException($"safetensors '{path}': the header is not valid JSON ({ex.Message}).", ex);
            }
            using (doc)
            {
                if (doc.RootElement.ValueKind != JsonValueKind.Object)
                    throw new InvalidDataException($"safetensors '{path}': the header is not a JSON object.");
                foreach (var prop in doc.RootElement.EnumerateObject())
                {
                    if (prop.Name == "__metadata__")
                    {
                        if (prop.Value.ValueKind == JsonValueKind.Object)
                            foreach (var m in prop.Value.EnumerateObject())
                                metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()! : m.Value.GetRawText();
                        continue;
                    }
                    entries.Add(ParseEntry(path, prop));
                }
            }
            return entries;
        }

        private static Entry ParseEntry(string path, JsonProperty prop)
        {
            string where = $"safetensors '{path}': tensor '{prop.Name}'";
            var v = prop.Value;
            if (v.ValueKind != JsonValueKind.Object
                || !v.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String
                || !v.TryGetProperty("shape", out var sh) || sh.ValueKind != JsonValueKind.Array
                || !v.TryGetProperty("data_offsets", out var off) || off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2)
                throw new InvalidDataException($"{where} needs 'dtype', 'shape' and a two-element 'data_offsets'.");
            string dtype = dt.GetString()!;
            int idx = Array.FindIndex(DTypes, d => d.Name == dtype);
            if (idx < 0)
                throw new InvalidDataException($"{where} has unsupported dtype '{dtype}' (supported: {string.Join(", ", DTypes.Select(d => d.Name))}).");
            var shape = sh.EnumerateArray().Select(e => e.GetInt64()).ToArray();
            if (shape.Any(d => d < 0))
                throw new InvalidDataException($"{where} has a negative dimension in shape [{string.Join(", ", shape)}].");
            long begin = off[0].GetInt64(), end = off[1].GetInt64();
            long numel = 1;
            foreach (var d in shape) numel = checked(numel * d);
            long expected = checked(numel * DTypes[idx].Size);
            if (begin < 0 || end < begin || end - begin != expected)
                throw new InvalidDataException($"{where}: data_offsets [{begin}, {end}] hold {end - begin} bytes but {dtype}[{string.Join(", ", shape)}] needs {expected}.");
            return new Entry(prop.Name, DTypes[idx].Type, shape, begin, end);
        }
    }
}
