using System;
using System.Globalization;

namespace TorchSharp
{
    public enum DeviceType
    {
        CPU = 0,
        CUDA = 1,
        MKLDNN = 2,
        OPENGL = 3,
        OPENCL = 4,
        IDEEP = 5,
        HIP = 6,
        FPGA = 7,
        MSNPU = 8,
        XLA = 9,
        MPS = 13,
        META = 14,
    }

    /// <summary>A number passed to tensor operations (held on the managed side).</summary>
    public sealed class Scalar : IDisposable
    {
        internal readonly double Value;
        private readonly torch.ScalarType _type;

        private Scalar(double value, torch.ScalarType type) { Value = value; _type = type; }

        public static implicit operator Scalar(byte value) => new Scalar(value, torch.ScalarType.Byte);
        public static implicit operator Scalar(sbyte value) => new Scalar(value, torch.ScalarType.Int8);
        public static implicit operator Scalar(short value) => new Scalar(value, torch.ScalarType.Int16);
        public static implicit operator Scalar(int value) => new Scalar(value, torch.ScalarType.Int32);
        public static implicit operator Scalar(long value) => new Scalar(value, torch.ScalarType.Int64);
        public static implicit operator Scalar(Half value) => new Scalar((double)value, torch.ScalarType.Float16);
        public static implicit operator Scalar(float value) => new Scalar(value, torch.ScalarType.Float32);
        public static implicit operator Scalar(double value) => new Scalar(value, torch.ScalarType.Float64);
        public static implicit operator Scalar(bool value) => new Scalar(value ? 1 : 0, torch.ScalarType.Bool);

        public torch.ScalarType Type => _type;

        public void Dispose() { }

        public override string ToString() => Value.ToString(CultureInfo.InvariantCulture);
    }

    public static class ScalarExtensionMethods
    {
        public static Scalar ToScalar(this int value) => value;
        public static Scalar ToScalar(this long value) => value;
        public static Scalar ToScalar(this float value) => value;
        public static Scalar ToScalar(this double value) => value;
        public static Scalar ToScalar(this bool value) => value;
        public static double ToDouble(this Scalar value) => value.Value;
        public static bool ToBoolean(this Scalar value) => value.Value != 0;
        public static float ToSingle(this Scalar value) => (float)value.Value;
        public static long ToInt64(this Scalar value) => (long)value.Value;
        public static int ToInt32(this Scalar value) => (int)value.Value;
    }

    public static partial class torch
    {
        public enum ScalarType : sbyte
        {
            Byte = 0,
            Int8 = 1,
            Int16 = 2,
            Int32 = 3,
            Int64 = 4,
            Float16 = 5,
            Float32 = 6,
            Float64 = 7,
            ComplexFloat32 = 9,
            ComplexFloat64 = 10,
            Bool = 11,
            QInt8 = 12,
            QUInt8 = 13,
            QInt32 = 14,
            BFloat16 = 15
        }

        public static ScalarType uint8 = ScalarType.Byte;
        public static ScalarType int8 = ScalarType.Int8;
        public static ScalarType int16 = ScalarType.Int16;
        public static ScalarType int32 = ScalarType.Int32;
        public static ScalarType int64 = ScalarType.Int64;
        public static ScalarType float16 = ScalarType.Float16;
        public static ScalarType bfloat16 = ScalarType.BFloat16;
        public static ScalarType float32 = ScalarType.Float32;
        public static ScalarType float64 = ScalarType.Float64;
        public static ScalarType @bool = ScalarType.Bool;
        public static ScalarType half = ScalarType.Float16;
        public static ScalarType @float = ScalarType.Float32;
        public static ScalarType @double = ScalarType.Float64;
        public static ScalarType @int = ScalarType.Int32;
        public static ScalarType @long = ScalarType.Int64;

        public static bool is_integral(ScalarType type) => type is ScalarType.Byte or ScalarType.Int8 or ScalarType.Int16 or ScalarType.Int32 or ScalarType.Int64 or ScalarType.Bool;
        public static bool is_floating_point(ScalarType type) => type is ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Float32 or ScalarType.Float64;

        private static ScalarType _defaultDType = ScalarType.Float32;
        public static ScalarType get_default_dtype() => _defaultDType;
        public static void set_default_dtype(ScalarType dtype) => _defaultDType = dtype;

        public class Device
        {
            public DeviceType type { get; private set; } = DeviceType.CPU;
            public int index { get; private set; } = -1;

            public Device(string description)
            {
                var parts = description.Split(':');
                type = parts[0].Trim().ToLowerInvariant() switch {
                    "cpu" => DeviceType.CPU,
                    "cuda" => DeviceType.CUDA,
                    "mps" => DeviceType.MPS,
                    "meta" => DeviceType.META,
                    _ => throw new ArgumentException($"Unknown device type: {parts[0]}", nameof(description)),
                };
                index = parts.Length > 1 ? int.Parse(parts[1], CultureInfo.InvariantCulture) : -1;
            }

            public Device(string deviceType, int index = -1) : this(deviceType) { this.index = index; }

            public Device(DeviceType deviceType, int index = -1)
            {
                type = deviceType;
                this.index = index;
            }

            public Device(int index)
            {
                type = DeviceType.CUDA;
                this.index = index;
            }

            public override string ToString() => type == DeviceType.CPU ? "cpu" : (index == -1 ? type.ToString().ToLowerInvariant() : $"{type.ToString().ToLowerInvariant()}:{index}");

            public static implicit operator Device(string description) => new Device(description);
        }

        public static readonly Device CPU = new Device(DeviceType.CPU, -1);
        private static Device? _CUDA;
        public static Device CUDA => _CUDA ??= new Device(DeviceType.CUDA, -1);
        public static readonly Device META = new Device(DeviceType.META, -1);

        public static Device device(string description) => new Device(description);
        public static Device device(string deviceType, int index = -1) => new Device(deviceType, index);
        public static Device device(DeviceType deviceType, int index = -1) => new Device(deviceType, index);
        public static Device device(int index) => new Device(index);
    }
}
