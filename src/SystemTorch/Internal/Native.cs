using System;
using System.IO;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Torchwright.SystemTorch
{
    /// <summary>P/Invoke surface of libsystemtorch (native/systemtorch.cpp). Op codes mirror the C++ enum.</summary>
    internal static unsafe class Native
    {
        internal const string Lib = "systemtorch";

        [ModuleInitializer]
        internal static void Init()
        {
            try { NativeLibrary.SetDllImportResolver(typeof(Native).Assembly, Resolve); } catch (InvalidOperationException) { }
        }

        private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? path)
        {
            if (name != Lib) return IntPtr.Zero;
            var file = "libsystemtorch.so";
            foreach (var dir in new[] { AppContext.BaseDirectory, Path.GetDirectoryName(assembly.Location) ?? "", Environment.GetEnvironmentVariable("SYSTEMTORCH_NATIVE_DIR") ?? "" }) {
                if (string.IsNullOrEmpty(dir)) continue;
                var p = Path.Combine(dir, file);
                if (File.Exists(p) && NativeLibrary.TryLoad(p, out var h)) return h;
            }
            return NativeLibrary.TryLoad(file, assembly, path, out var h2) ? h2 : IntPtr.Zero;
        }

        [DllImport(Lib)] internal static extern IntPtr st_last_error();
        [DllImport(Lib)] internal static extern void st_free(IntPtr t);
        [DllImport(Lib)] internal static extern IntPtr st_op1(int op, IntPtr* ins, int nin, long* ia, int nia, double* da, int nda);
        [DllImport(Lib)] internal static extern int st_opn(int op, IntPtr* ins, int nin, long* ia, int nia, double* da, int nda, IntPtr* outs, int maxout);
        [DllImport(Lib)] internal static extern IntPtr st_add(IntPtr a, IntPtr b);
        [DllImport(Lib)] internal static extern IntPtr st_mul(IntPtr a, IntPtr b);
        [DllImport(Lib)] internal static extern IntPtr st_relu(IntPtr a);
        [DllImport(Lib)] internal static extern IntPtr st_matmul(IntPtr a, IntPtr b);
        [DllImport(Lib)] internal static extern IntPtr st_from_data(void* data, long nbytes, long* shape, int ndim, int dtype, int devtype, int devidx, int requires_grad);
        [DllImport(Lib)] internal static extern int st_copy_out(IntPtr t, void* dst, long nbytes);
        [DllImport(Lib)] internal static extern int st_ndim(IntPtr t);
        [DllImport(Lib)] internal static extern int st_shape(IntPtr t, long* outp, int max);
        [DllImport(Lib)] internal static extern long st_numel(IntPtr t);
        [DllImport(Lib)] internal static extern int st_dtype(IntPtr t);
        [DllImport(Lib)] internal static extern int st_device(IntPtr t, int* index);
        [DllImport(Lib)] internal static extern int st_item(IntPtr t, double* d, long* l);
        [DllImport(Lib)] internal static extern int st_is_leaf(IntPtr t);
        [DllImport(Lib)] internal static extern IntPtr st_index(IntPtr t, long* spec, int n, IntPtr* tens, int ntens);
        [DllImport(Lib)] internal static extern int st_index_put(IntPtr t, long* spec, int n, IntPtr* tens, int ntens, IntPtr vt, double sv);
        [DllImport(Lib)] internal static extern IntPtr st_einsum([MarshalAs(UnmanagedType.LPUTF8Str)] string eq, IntPtr* ins, int n);
        [DllImport(Lib)] internal static extern int st_requires_grad(IntPtr t);
        [DllImport(Lib)] internal static extern int st_set_requires_grad(IntPtr t, int on);
        [DllImport(Lib)] internal static extern int st_grad(IntPtr t, IntPtr* outp);
        [DllImport(Lib)] internal static extern int st_set_grad(IntPtr t, IntPtr g);
        [DllImport(Lib)] internal static extern int st_backward(IntPtr t, IntPtr grad, int retain, int create);
        [DllImport(Lib)] internal static extern int st_retain_grad(IntPtr t);
        [DllImport(Lib)] internal static extern int st_grad_enabled();
        [DllImport(Lib)] internal static extern void st_set_grad_enabled(int on);
        [DllImport(Lib)] internal static extern int st_manual_seed(long seed);
        [DllImport(Lib)] internal static extern int st_set_num_threads(int n);
        [DllImport(Lib)] internal static extern int st_get_num_threads();
        [DllImport(Lib)] internal static extern int st_cuda_is_available();
        [DllImport(Lib)] internal static extern int st_cuda_device_count();
        [DllImport(Lib)] internal static extern int st_cuda_synchronize(long index);
        [DllImport(Lib)] internal static extern IntPtr st_torch_version();

        internal static ExternalException Error()
        {
            var msg = Marshal.PtrToStringUTF8(st_last_error()) ?? "unknown native error";
            return new ExternalException(msg);
        }

        internal static IntPtr Check(IntPtr p) => p == IntPtr.Zero ? throw Error() : p;
        internal static int Check(int rc) => rc < 0 ? throw Error() : rc;
        internal static long Check(long rc) => rc < 0 ? throw Error() : rc;
    }

    internal enum Op
    {
        NEG = 1, RELU, RELU_, SIGMOID, SIGMOID_, EXP, LOG, SQRT, RSQRT, ABS, TANH, GELU, SILU, SILU_, CONTIGUOUS, CLONE,
        DETACH, ZERO_, ERFINV_, SIN, COS, FLOOR, CEIL, ROUND, SIGN, RECIPROCAL, LOGICAL_NOT, ISNAN, ERF, SQUARE, DETACH_, ALIAS,
        ADD = 100, SUB, MUL, DIV, MATMUL, BMM, POW, EQ, NE, LT, LE, GT, GE, MAXIMUM, MINIMUM, ADD_, SUB_, MUL_, DIV_,
        COPY_, MASKED_FILL, WHERE, INDEX_SELECT, GATHER, SET_DATA, LINEAR, MM, ADDCMUL_, ADDCDIV_, LERP_, MASKED_FILL_,
        ADDS = 200, SUBS, MULS, DIVS, POWS, RSUB, RDIV, EQS, NES, LTS, LES, GTS, GES, ADDS_, SUBS_, MULS_, DIVS_, FILL_,
        CLAMP, CLAMP_, UNIFORM_, NORMAL_, POW_S_, SQRT_, RPOW, BERNOULLI,
        VIEW = 300, RESHAPE, PERMUTE, EXPAND, REPEAT, FLATTEN, UNSQUEEZE, SQUEEZE, SQUEEZE_ALL, TRANSPOSE, NARROW, PAD,
        SPLIT_SIZE, SPLIT_SIZES, CHUNK, CAT, STACK, TO, SELECT, ROLL, TRIL, TRIU,
        SUM = 400, MEAN, AMAX, AMIN, MAX_ALL, MIN_ALL, MAX_DIM, MIN_DIM, ARGMAX, ARGMIN, VAR, STD, SUM_ALL, MEAN_ALL, NORM,
        TOPK, SORT, CUMSUM, ALL, ANY, LOGSUMEXP,
        ZEROS = 500, ONES, EMPTY, FULL, RANDN, RAND, RANDINT, ARANGE, ZEROS_LIKE, ONES_LIKE, RANDN_LIKE, EYE,
        CONV2D = 600, BATCH_NORM, LAYER_NORM, GROUP_NORM, INSTANCE_NORM, MAX_POOL2D, AVG_POOL2D, ADAPTIVE_AVG_POOL2D,
        SOFTMAX, LOG_SOFTMAX, DROPOUT, UNFOLD, CROSS_ENTROPY, INTERPOLATE, MSE_LOSS, NLL_LOSS, ADAPTIVE_MAX_POOL2D,
        LEAKY_RELU, HARDSWISH, HARDSIGMOID, CONV1D, SDPA_UNUSED, FOLD, MAX_POOL2D_IDX, BCE_LOGITS, L1_LOSS,
    }
}
