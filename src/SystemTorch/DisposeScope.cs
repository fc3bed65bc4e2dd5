using System;
using System.Collections.Generic;
using System.Linq;
using Torchwright.SystemTorch;

namespace TorchSharp
{
    /// <summary>
    /// Tracks tensors created while it is the current scope and disposes them when it is disposed
    /// (TorchSharp semantics: nested per thread, MoveToOuter hands a tensor to the enclosing scope).
    /// </summary>
    public sealed class DisposeScope : IDisposable
    {
        private ScopeManager? _manager;

        internal DisposeScope(ScopeManager manager)
        {
            _manager = manager;
            OuterScope = manager.Current;
        }

        internal DisposeScope? OuterScope { get; set; }

        internal HashSet<IDisposable> Disposables { get; } = new HashSet<IDisposable>(ReferenceEqualityComparer.Instance);

        public IReadOnlyList<IDisposable> DisposablesView => Disposables.ToArray();

        public int DisposablesCount => Disposables.Count;

        public T MoveToOuter<T>(T disposable) where T : IDisposable => MoveToOther(OuterScope, disposable);

        public (T1 first, T2 second) MoveToOuter<T1, T2>(T1 first, T2 second) where T1 : IDisposable where T2 : IDisposable
            => (MoveToOther(OuterScope, first), MoveToOther(OuterScope, second));

        public (T1 first, T2 second, T3 third) MoveToOuter<T1, T2, T3>(T1 first, T2 second, T3 third) where T1 : IDisposable where T2 : IDisposable where T3 : IDisposable
            => (MoveToOther(OuterScope, first), MoveToOther(OuterScope, second), MoveToOther(OuterScope, third));

        public void MoveToOuter(params IDisposable[] disposables) => MoveToOther(OuterScope, (IEnumerable<IDisposable>)disposables);

        public void MoveToOuter(IEnumerable<IDisposable> disposables) => MoveToOther(OuterScope, disposables);

        public T MoveToOther<T>(DisposeScope? scope, T disposable) where T : IDisposable
        {
            Move(scope, disposable);
            return disposable;
        }

        public void MoveToOther(DisposeScope? scope, params IDisposable[] disposables) => MoveToOther(scope, (IEnumerable<IDisposable>)disposables);

        public void MoveToOther(DisposeScope? scope, IEnumerable<IDisposable> disposables)
        {
            foreach (var d in disposables) Move(scope, d);
        }

        public T Detach<T>(T disposable) where T : IDisposable
        {
            Move(null, disposable);
            return disposable;
        }

        public (T1 first, T2 second) Detach<T1, T2>(T1 first, T2 second) where T1 : IDisposable where T2 : IDisposable
            => (Detach(first), Detach(second));

        public void Detach(params IDisposable[] disposables) => Detach((IEnumerable<IDisposable>)disposables);

        public void Detach(IEnumerable<IDisposable> disposables)
        {
            foreach (var d in disposables) Move(null, d);
        }

        public void Attach(IDisposable disposable) => Move(this, disposable);

        public void Attach(params IDisposable[] disposables)
        {
            foreach (var d in disposables) Move(this, d);
        }

        public void DisposeEverything() => DisposeEverythingBut(Array.Empty<IDisposable>());

        public void DisposeEverythingBut(IEnumerable<IDisposable> inKeep)
        {
            var keep = new HashSet<IDisposable>(inKeep, ReferenceEqualityComparer.Instance);
            foreach (var d in Disposables.ToArray()) {
                if (keep.Contains(d)) continue;
                Disposables.Remove(d);
                if (d is torch.Tensor t) t.OwningDisposeScope = null;
                d.Dispose();
            }
        }

        public void DisposeEverythingBut(params IDisposable[] keep) => DisposeEverythingBut((IEnumerable<IDisposable>)keep);

        public T DisposeEverythingBut<T>(T keep) where T : IDisposable
        {
            DisposeEverythingBut(new IDisposable[] { keep });
            return keep;
        }

        public void Dispose()
        {
            if (_manager is null) return;
            DisposeEverything();
            _manager.Remove(this);
            _manager = null;
        }

        public void MarkAsDisposed(IDisposable disposable)
        {
            if (_manager is null) throw new ObjectDisposedException(GetType().FullName);
            Disposables.Remove(disposable);
            if (disposable is torch.Tensor t) t.OwningDisposeScope = null;
        }

        public bool Contains(IDisposable disposable) => Disposables.Contains(disposable);

        private static void Move(DisposeScope? target, IDisposable disposable)
        {
            if (disposable is not torch.Tensor t) throw new InvalidOperationException("DisposeScope can only manage Tensor");
            var old = t.OwningDisposeScope;
            if (ReferenceEquals(old, target)) return;
            old?.Disposables.Remove(t);
            if (target is not null && target._manager is null) target = null;
            target?.Disposables.Add(t);
            t.OwningDisposeScope = target;
        }
    }
}

namespace Torchwright.SystemTorch
{
    using TorchSharp;

    /// <summary>Per-thread stack of dispose scopes.</summary>
    internal sealed class ScopeManager
    {
        [ThreadStatic] private static ScopeManager? _instance;
        internal static ScopeManager Instance => _instance ??= new ScopeManager();

        internal DisposeScope? Current { get; private set; }

        internal DisposeScope NewScope()
        {
            var s = new DisposeScope(this);
            Current = s;
            return s;
        }

        internal static void Register(torch.Tensor t)
        {
            var m = _instance;
            var cur = m?.Current;
            if (cur is null) return;
            cur.Disposables.Add(t);
            t.OwningDisposeScope = cur;
        }

        internal void Remove(DisposeScope scope)
        {
            var s = Current;
            if (ReferenceEquals(s, scope)) { Current = scope.OuterScope; return; }
            while (s is not null) {
                var outer = s.OuterScope;
                if (ReferenceEquals(outer, scope)) { s.OuterScope = scope.OuterScope; return; }
                s = outer;
            }
        }
    }
}
