using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using TorchSharp.Modules;
using Torchwright.SystemTorch;
using static TorchSharp.torch;

namespace TorchSharp
{
    public static partial class torch
    {
        public static partial class nn
        {
            /// <summary>Base class of all modules (TorchSharp semantics, implemented in managed code).</summary>
            public class Module : IDisposable
            {
                private readonly OrderedMap<Module> _submodules = new();
                private readonly OrderedMap<Parameter> _params = new();
                private readonly OrderedMap<(Tensor tensor, bool persistent)> _buffers = new();
                private bool _areComponentsRegistered;
                private bool _training = true;
                private bool _disposed;
                protected string? name;

                protected Module(string name)
                {
                    this.name = name;
                }

                public void Dispose()
                {
                    Dispose(true);
                    GC.SuppressFinalize(this);
                }

                protected virtual void Dispose(bool disposing)
                {
                    if (_disposed || !disposing) return;
                    _disposed = true;
                    foreach (var (_, m) in _submodules) m.Dispose();
                    foreach (var (_, p) in _params) p.Dispose();
                    foreach (var (_, b) in _buffers) b.tensor.Dispose();
                    _submodules.Clear();
                    _params.Clear();
                    _buffers.Clear();
                }

                // -------------------------------------------------------- registration
                public virtual void register_buffer(string name, Tensor tensor, bool persistent = true)
                {
                    if (tensor is null || tensor.IsInvalid)
                        throw new ArgumentNullException(nameof(tensor), "A null tensor cannot be registered as a buffer.");
                    if (!_buffers.TryAdd(name, (tensor, persistent)))
                        throw new InvalidOperationException($"Tensor {name} is already registered.");
                }

                public virtual void register_parameter(string name, Parameter param)
                {
                    if (param is null || param.IsInvalid)
                        throw new ArgumentNullException(nameof(param), "A null tensor cannot be registered as a parameter.");
                    if (!_params.TryAdd(name, param))
                        throw new InvalidOperationException($"Parameter {name} is already registered.");
                }

                public void add_module(string name, Module module) => register_module(name, module);

                public virtual void register_module(string name, Module submodule)
                {
                    if (submodule is null) {
                        _submodules.Remove(name);
                        return;
                    }
                    if (name.Contains('.')) throw new ArgumentException($"module name can't contain \".\", got: {name}");
                    if (string.IsNullOrEmpty(name)) throw new ArgumentException("module name can't be empty string \"\"");
                    if (_submodules.ContainsKey(name)) throw new InvalidOperationException($"Sub-module {name} is already registered.");
                    submodule.RegisterComponents();
                    _submodules.Add(name, submodule);
                }

                protected void ConditionallyRegisterParameter(string name, Tensor value) => ConditionallyRegisterParameter(name, value as Parameter);

                protected void ConditionallyRegisterParameter(string name, Parameter? value)
                {
                    if (value is null) _params.Remove(name);
                    else _params.Set(name, value);
                }

                protected void ConditionallyRegisterBuffer(string name, Tensor? value, bool persistent = true)
                {
                    if (value is null) _buffers.Remove(name);
                    else _buffers.Set(name, (value, persistent));
                }

                protected virtual void RegisterComponents()
                {
                    if (_areComponentsRegistered) return;
                    foreach (var field in GetFieldsRecursive(GetType())) {
                        var fieldName = field.Name;
                        if (_submodules.ContainsKey(fieldName) || _params.ContainsKey(fieldName) || _buffers.ContainsKey(fieldName)) continue;
                        switch (field.GetValue(this)) {
                        case Module module:
                            register_module(fieldName, module);
                            break;
                        case Parameter param:
                            register_parameter(fieldName, param);
                            break;
                        case Tensor tensor:
                            register_buffer(fieldName, tensor);
                            break;
                        }
                    }
                    _areComponentsRegistered = true;
                }

                private static IEnumerable<FieldInfo> GetFieldsRecursive(Type type)
                {
                    // Base-class fields first, then the derived class's, each in declaration order.
                    var chain = new List<Type>();
                    for (var t = type; t != null && t != typeof(Module); t = t.BaseType) chain.Add(t);
                    chain.Reverse();
                    foreach (var t in chain)
                        foreach (var f in t.GetFields(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.DeclaredOnly))
                            yield return f;
                }

                // -------------------------------------------------------- enumeration
                public virtual IEnumerable<(string name, Parameter parameter)> named_parameters(bool recurse = true)
                {
                    var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
                    foreach (var (n, p) in _params) {
                        if (p.IsInvalid || !seen.Add(p)) continue;
                        yield return (n, p);
                    }
                    if (!recurse) yield break;
                    foreach (var (sn, sm) in _submodules)
                        foreach (var (n, p) in sm.named_parameters(true)) {
                            if (!seen.Add(p)) continue;
                            yield return ($"{sn}.{n}", p);
                        }
                }

                public virtual IEnumerable<Parameter> parameters(bool recurse = true) => named_parameters(recurse).Select(np => np.parameter);

                public virtual IEnumerable<(string name, Tensor buffer)> named_buffers(bool recurse = true, bool include_nonpersistent = true)
                {
                    var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
                    foreach (var (n, b) in _buffers) {
                        if (b.tensor.IsInvalid || (!b.persistent && !include_nonpersistent) || !seen.Add(b.tensor)) continue;
                        yield return (n, b.tensor);
                    }
                    if (!recurse) yield break;
                    foreach (var (sn, sm) in _submodules)
                        foreach (var (n, b) in sm.named_buffers(true, include_nonpersistent)) {
                            if (!seen.Add(b)) continue;
                            yield return ($"{sn}.{n}", b);
                        }
                }

                public virtual IEnumerable<Tensor> buffers(bool recurse = true, bool include_nonpersistent = true) => named_buffers(recurse, include_nonpersistent).Select(nb => nb.buffer);

                public virtual IEnumerable<(string name, Module module)> named_children() => _submodules.ToList();

                public virtual IEnumerable<Module> children() => named_children().Select(nm => nm.module);

                public virtual IEnumerable<(string name, Module module)> named_modules()
                {
                    foreach (var nm in named_children()) yield return nm;
                    foreach (var (sn, sm) in named_children())
                        foreach (var (n, m) in sm.named_modules()) yield return ($"{sn}.{n}", m);
                }

                public virtual IEnumerable<Module> modules() => named_modules().Select(nm => nm.module);

                public virtual bool has_parameter(string target) => get_parameter(target) is not null;

                public virtual bool has_buffer(string target) => get_buffer(target) is not null;

                public virtual Parameter? get_parameter(string target) => named_parameters().FirstOrDefault(p => p.name == target).parameter;

                public virtual Tensor? get_buffer(string target) => named_buffers().FirstOrDefault(p => p.name == target).buffer;

                // -------------------------------------------------------- state
                public virtual Dictionary<string, Tensor> state_dict(Dictionary<string, Tensor>? destination = null, string? prefix = null)
                {
                    destination ??= new Dictionary<string, Tensor>();
                    string Key(string n) => string.IsNullOrEmpty(prefix) ? n : $"{prefix}.{n}";
                    foreach (var (n, p) in named_parameters(false)) destination.TryAdd(Key(n), p);
                    foreach (var (n, b) in named_buffers(false, include_nonpersistent: false)) destination.TryAdd(Key(n), b);
                    foreach (var (n, m) in named_children()) m.state_dict(destination, Key(n));
                    return destination;
                }

                public virtual (IList<string> missing_keys, IList<string> unexpected_keyes) load_state_dict(Dictionary<string, Tensor> source, bool strict = true, IList<string>? skip = null)
                {
                    skip ??= Array.Empty<string>();
                    var destination = state_dict();
                    var unexpected = source.Keys.Where(k => !skip.Contains(k) && !destination.ContainsKey(k)).ToList();
                    var missing = destination.Keys.Where(k => !skip.Contains(k) && !source.ContainsKey(k)).ToList();
                    if (strict && (missing.Count > 0 || unexpected.Count > 0))
                        throw new InvalidOperationException("The loaded state_dict is not identical to the target dictionary."
                            + (missing.Count > 0 ? " Missing keys: " + string.Join(", ", missing) + "." : "")
                            + (unexpected.Count > 0 ? " Unexpected keys: " + string.Join(", ", unexpected) + "." : ""));
                    using var d = torch.no_grad();
                    foreach (var key in source.Keys) {
                        if (skip.Contains(key) || !destination.TryGetValue(key, out var target)) continue;
                        target.copy_(source[key]);
                    }
                    return (missing, unexpected);
                }

                public virtual void train(bool train = true)
                {
                    _training = train;
                    foreach (var (_, m) in named_children()) m.train(train);
                }

                public virtual void eval() => train(false);

                public virtual bool training => _training;

                public virtual void zero_grad(bool set_to_none = true)
                {
                    foreach (var (_, p) in named_parameters()) {
                        using var grad = p.grad;
                        if (grad is null) continue;
                        if (set_to_none) p.grad = null;
                        else grad.zero_();
                    }
                }

                public virtual Module apply(Action<Module> fn)
                {
                    foreach (var (_, m) in named_children()) m.apply(fn);
                    fn(this);
                    return this;
                }

                public virtual string GetName() => name ?? GetType().Name;

                // -------------------------------------------------------- device / dtype moves
                protected internal virtual Module _to(Device device, ScalarType dtype, bool non_blocking)
                {
                    MoveAll(dtype, device, non_blocking);
                    return this;
                }

                protected internal virtual Module _to(DeviceType deviceType, int deviceIndex, bool non_blocking)
                {
                    MoveAll(null, new Device(deviceType, deviceIndex), non_blocking);
                    return this;
                }

                protected internal virtual Module _to(ScalarType dtype, bool non_blocking)
                {
                    MoveAll(dtype, null, non_blocking);
                    return this;
                }

                private void MoveAll(ScalarType? dtype, Device? device, bool non_blocking)
                {
                    using var ng = torch.no_grad();
                    foreach (var (_, p) in _params) MoveTensor(p, dtype, device, non_blocking);
                    foreach (var (_, b) in _buffers) MoveTensor(b.tensor, dtype, device, non_blocking);
                    foreach (var (_, m) in _submodules) {
                        if (dtype.HasValue && device is not null) m._to(device, dtype.Value, non_blocking);
                        else if (dtype.HasValue) m._to(dtype.Value, non_blocking);
                        else if (device is not null) m._to(device.type, device.index, non_blocking);
                    }
                }

                private static void MoveTensor(Tensor t, ScalarType? dtype, Device? device, bool non_blocking)
                {
                    if (t.IsInvalid) return;
                    var dt = dtype.HasValue && t.is_floating_point() ? dtype.Value : t.dtype;
                    var dev = device ?? t.device;
                    using var moved = t.to(dt, dev, false, false, non_blocking);
                    using var g = t.grad;
                    Ops.I2(Op.SET_DATA, t, moved);
                    if (g is not null) {
                        using var mg = g.to(dt, dev);
                        t.grad = mg;
                    }
                }

                internal void SetTraining(bool on) => _training = on;
            }

            public interface IModule<T, TResult>
            {
                public TResult call(T input1);
            }

            public interface IModule<T1, T2, TResult>
            {
                public abstract TResult call(T1 input1, T2 input2);
            }

            /// <summary>A module that supports forward pre- and post-hooks.</summary>
            public class HookableModule<TPreHook, TPostHook> : Module
            {
                protected HookableModule(string name) : base(name) { }

                public HookRemover register_forward_hook(TPostHook hook) => Add(post_hooks, hook);

                public HookRemover register_forward_pre_hook(TPreHook hook) => Add(pre_hooks, hook);

                public HookRemover register_forward_hook(Action<Module> hook) => Add(module_post_hooks, hook);

                public HookRemover register_forward_pre_hook(Action<Module> hook) => Add(module_pre_hooks, hook);

                private HookRemover Add<THook>(Dictionary<string, THook> hooks, THook hook)
                {
                    var key = Guid.NewGuid().ToString("N");
                    hooks.Add(key, hook);
                    return new HookRemover(this, key);
                }

                private void RemoveHook(string key)
                {
                    pre_hooks.Remove(key);
                    post_hooks.Remove(key);
                    module_pre_hooks.Remove(key);
                    module_post_hooks.Remove(key);
                }

                protected Dictionary<string, TPreHook> pre_hooks = new Dictionary<string, TPreHook>();
                protected Dictionary<string, TPostHook> post_hooks = new Dictionary<string, TPostHook>();
                protected Dictionary<string, Action<Module>> module_pre_hooks = new Dictionary<string, Action<Module>>();
                protected Dictionary<string, Action<Module>> module_post_hooks = new Dictionary<string, Action<Module>>();

                public class HookRemover
                {
                    private readonly HookableModule<TPreHook, TPostHook> module;
                    private readonly string key;

                    public HookRemover(HookableModule<TPreHook, TPostHook> module, string key)
                    {
                        this.module = module;
                        this.key = key;
                    }

                    public void remove() => module.RemoveHook(key);
                }
            }

            /// <summary>A module with one input and one result.</summary>
            public abstract class Module<T, TResult> : HookableModule<Func<Module<T, TResult>, T, T>, Func<Module<T, TResult>, T, TResult, TResult>>, IModule<T, TResult>
            {
                protected Module(string name) : base(name) { }

                public abstract TResult forward(T input);

                public TResult call(T input)
                {
                    if (module_pre_hooks.Count == 0 && pre_hooks.Count == 0 && post_hooks.Count == 0 && module_post_hooks.Count == 0)
                        return forward(input);
                    foreach (var hook in module_pre_hooks.Values.ToArray()) hook(this);
                    foreach (var hook in pre_hooks.Values.ToArray()) {
                        var modified = hook(this, input);
                        if (modified is not null) input = modified;
                    }
                    var result = forward(input);
                    foreach (var hook in post_hooks.Values.ToArray()) {
                        var modified = hook(this, input, result);
                        if (modified is not null) result = modified;
                    }
                    foreach (var hook in module_post_hooks.Values.ToArray()) hook(this);
                    return result;
                }
            }

            /// <summary>A module with two inputs and one result.</summary>
            public abstract class Module<T1, T2, TResult> : HookableModule<Func<Module<T1, T2, TResult>, T1, T2, (T1, T2)?>, Func<Module<T1, T2, TResult>, T1, T2, TResult, TResult>>, IModule<T1, T2, TResult>
            {
                protected Module(string name) : base(name) { }

                public abstract TResult forward(T1 input1, T2 input2);

                public TResult call(T1 input1, T2 input2)
                {
                    foreach (var hook in module_pre_hooks.Values.ToArray()) hook(this);
                    foreach (var hook in pre_hooks.Values.ToArray()) {
                        var modified = hook(this, input1, input2);
                        if (modified.HasValue) (input1, input2) = modified.Value;
                    }
                    var result = forward(input1, input2);
                    foreach (var hook in post_hooks.Values.ToArray()) {
                        var modified = hook(this, input1, input2, result);
                        if (modified is not null) result = modified;
                    }
                    foreach (var hook in module_post_hooks.Values.ToArray()) hook(this);
                    return result;
                }
            }

            public static Parameter Parameter(Tensor data, bool requires_grad = true) => new Parameter(data, requires_grad);
        }
    }

    public static class ModuleExtensionMethods
    {
        public static T to<T>(this T module, torch.ScalarType type, bool non_blocking = false) where T : torch.nn.Module => (T)module._to(type, non_blocking);
        public static T to<T>(this T module, torch.Device device, torch.ScalarType type, bool non_blocking = false) where T : torch.nn.Module => (T)module._to(device, type, non_blocking);
        public static T to<T>(this T module, DeviceType deviceType, int deviceIndex = -1, bool non_blocking = false) where T : torch.nn.Module => (T)module._to(deviceType, deviceIndex, non_blocking);
        public static T to<T>(this T module, torch.Device device, bool non_blocking = false) where T : torch.nn.Module => (T)module._to(device.type, device.index, non_blocking);
        public static T to<T>(this T module, string device, bool non_blocking = false) where T : torch.nn.Module => module.to(new torch.Device(device), non_blocking);
        public static T to<T>(this T module, torch.Tensor other, bool non_blocking = false) where T : torch.nn.Module => (T)module._to(other.device, other.dtype, non_blocking);
        public static T cpu<T>(this T module, bool non_blocking = false) where T : torch.nn.Module => (T)module._to(DeviceType.CPU, -1, non_blocking);
        public static T cuda<T>(this T module, int deviceIndex = -1, bool non_blocking = false) where T : torch.nn.Module => (T)module._to(DeviceType.CUDA, deviceIndex, non_blocking);
        public static T half<T>(this T module, bool non_blocking = false) where T : torch.nn.Module => module.to(torch.ScalarType.Float16, non_blocking);
        public static T bfloat16<T>(this T module, bool non_blocking = false) where T : torch.nn.Module => module.to(torch.ScalarType.BFloat16, non_blocking);
        public static T @float<T>(this T module, bool non_blocking = false) where T : torch.nn.Module => module.to(torch.ScalarType.Float32, non_blocking);
        public static T @double<T>(this T module, bool non_blocking = false) where T : torch.nn.Module => module.to(torch.ScalarType.Float64, non_blocking);
    }
}

namespace TorchSharp.Modules
{
    /// <summary>A tensor registered as a trainable module parameter.</summary>
    public class Parameter : torch.Tensor
    {
        public Parameter(torch.Tensor data, bool requires_grad = true) : base(TakeDetached(data, requires_grad), false)
        {
            AdoptPendingScope();
        }

        private static IntPtr TakeDetached(torch.Tensor data, bool requires_grad)
        {
            // Like torch.nn.Parameter: a leaf that shares the data; the source tensor becomes empty.
            var scope = data.OwningDisposeScope;
            var h = data.MoveHandle();
            try {
                IntPtr d;
                unsafe {
                    IntPtr* ins = stackalloc IntPtr[1] { h };
                    d = Native.st_op1((int)Op.DETACH, ins, 1, null, 0, null, 0);
                }
                if (d == IntPtr.Zero) throw Native.Error();
                Native.Check(Native.st_set_requires_grad(d, requires_grad ? 1 : 0));
                _pendingScope = scope;
                return d;
            } finally {
                Native.st_free(h);
            }
        }

        [ThreadStatic] private static DisposeScope? _pendingScope;

        internal Parameter(IntPtr handle) : base(handle, false)
        {
        }

        // Parameters take the place of their source tensor in its dispose scope (TorchSharp semantics).
        private void AdoptPendingScope()
        {
            var s = _pendingScope;
            _pendingScope = null;
            if (s is not null) s.Attach(this);
        }
    }

    /// <summary>A module without parameters.</summary>
    public abstract class ParameterLessModule<T1, TResult> : torch.nn.Module<T1, TResult>
    {
        protected ParameterLessModule(string name) : base(name) { }
    }

    internal sealed class OrderedMap<TValue> : IEnumerable<(string, TValue)>
    {
        private readonly List<string> _keys = new();
        private readonly Dictionary<string, TValue> _map = new();

        public bool ContainsKey(string k) => _map.ContainsKey(k);

        public bool TryAdd(string k, TValue v)
        {
            if (!_map.TryAdd(k, v)) return false;
            _keys.Add(k);
            return true;
        }

        public void Add(string k, TValue v)
        {
            if (!TryAdd(k, v)) throw new ArgumentException($"duplicate key {k}");
        }

        public void Set(string k, TValue v)
        {
            if (_map.ContainsKey(k)) _map[k] = v;
            else Add(k, v);
        }

        public void Remove(string k)
        {
            if (_map.Remove(k)) _keys.Remove(k);
        }

        public void Clear() { _keys.Clear(); _map.Clear(); }

        public int Count => _keys.Count;

        public TValue this[string k] => _map[k];

        public IEnumerator<(string, TValue)> GetEnumerator()
        {
            foreach (var k in _keys.ToArray()) yield return (k, _map[k]);
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
