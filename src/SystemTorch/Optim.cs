using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TorchSharp
{
    public static partial class torch
    {
        public static partial class optim
        {
            /// <summary>Base class of optimizers.</summary>
            public abstract partial class Optimizer : IDisposable
            {
                internal Optimizer() { }

                public virtual void zero_grad()
                {
                    foreach (var p in AllParameters()) {
                        using var g = p.grad;
                        if (g is not null) p.grad = null;
                    }
                }

                public virtual Tensor step(Func<Tensor>? closure = null) => throw new NotImplementedException();

                public virtual IEnumerable<ILearningRateController> ParamGroups => Array.Empty<ILearningRateController>();

                internal abstract IEnumerable<Parameter> AllParameters();

                public void Dispose()
                {
                    Dispose(true);
                    GC.SuppressFinalize(this);
                }

                protected virtual void Dispose(bool disposing)
                {
                    if (this is OptimizerHelper h) foreach (var g in h._groups) g.DisposeState();
                }
            }

            public interface ILearningRateController
            {
                double LearningRate { set; get; }

                double InitialLearningRate { set; get; }
            }

            public interface IMomentum
            {
                double Momentum { get; set; }
            }

            public interface IBetas
            {
                (double, double) Betas { get; set; }
            }

            public static Modules.SGD SGD(IEnumerable<Parameter> parameters, double learningRate, double momentum = 0, double dampening = 0, double weight_decay = 0, bool nesterov = false, bool maximize = false)
                => new Modules.SGD(parameters, learningRate, momentum, dampening, weight_decay, nesterov, maximize);

            public static Modules.SGD SGD(IEnumerable<(string name, Parameter parameter)> parameters, double learningRate, double momentum = 0, double dampening = 0, double weight_decay = 0, bool nesterov = false, bool maximize = false)
                => new Modules.SGD(parameters.Select(np => np.parameter), learningRate, momentum, dampening, weight_decay, nesterov, maximize);

            public static Modules.AdamW AdamW(IEnumerable<Parameter> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weight_decay = 0, bool amsgrad = false, bool maximize = false)
                => new Modules.AdamW(parameters, lr, beta1, beta2, eps, weight_decay, amsgrad, maximize);

            public static Modules.AdamW AdamW(IEnumerable<(string name, Parameter parameter)> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weight_decay = 0, bool amsgrad = false, bool maximize = false)
                => new Modules.AdamW(parameters.Select(np => np.parameter), lr, beta1, beta2, eps, weight_decay, amsgrad, maximize);

            public static partial class lr_scheduler
            {
                public abstract class LRScheduler
                {
                    protected Optimizer _optimizer;
                    protected int _last_epoch;
                    protected bool _verbose;
                    protected IEnumerable<double> _base_lrs;
                    protected IEnumerable<double> _last_lrs;

                    protected LRScheduler(Optimizer optimizer, int last_epoch = -1, bool verbose = false)
                    {
                        _optimizer = optimizer;
                        _last_epoch = last_epoch;
                        _verbose = verbose;
                        if (last_epoch == -1)
                            foreach (var g in optimizer.ParamGroups) g.InitialLearningRate = g.LearningRate;
                        _base_lrs = optimizer.ParamGroups.Select(g => g.InitialLearningRate).ToList();
                        _last_lrs = optimizer.ParamGroups.Select(g => g.LearningRate).ToList();
                        step();
                    }

                    public virtual void step()
                    {
                        _last_epoch += 1;
                        var lrs = get_lr().ToList();
                        int i = 0;
                        foreach (var g in _optimizer.ParamGroups) g.LearningRate = lrs[i++];
                        _last_lrs = lrs;
                    }

                    public IEnumerable<double> get_last_lr() => _last_lrs;

                    protected virtual IEnumerable<double> get_lr() => _optimizer.ParamGroups.Select(g => g.LearningRate);
                }

                public static partial class impl
                {
                    public class CosineAnnealingLR : LRScheduler
                    {
                        private readonly double _T_max;
                        private readonly double _eta_min;

                        public CosineAnnealingLR(Optimizer optimizer, double T_max, double eta_min = 0, int last_epoch = -1, bool verbose = false) : base(Init(optimizer, T_max, eta_min, out var tm, out var em), last_epoch, verbose)
                        {
                            _T_max = tm;
                            _eta_min = em;
                        }

                        [ThreadStatic] private static double s_tmax, s_eta;

                        private static Optimizer Init(Optimizer o, double tmax, double eta, out double tm, out double em)
                        {
                            s_tmax = tmax; s_eta = eta; tm = tmax; em = eta;
                            return o;
                        }

                        protected override IEnumerable<double> get_lr()
                        {
                            var tmax = _T_max == 0 && s_tmax != 0 ? s_tmax : _T_max;
                            var eta = _T_max == 0 && s_tmax != 0 ? s_eta : _eta_min;
                            var groups = _optimizer.ParamGroups.ToList();
                            var bases = _base_lrs.ToList();
                            if (_last_epoch == 0) return groups.Select(g => g.LearningRate).ToList();
                            if ((_last_epoch - 1 - tmax) % (2 * tmax) == 0)
                                return groups.Select((g, i) => g.LearningRate + (bases[i] - eta) * (1 - Math.Cos(Math.PI / tmax)) / 2).ToList();
                            return groups.Select(g => (1 + Math.Cos(Math.PI * _last_epoch / tmax)) / (1 + Math.Cos(Math.PI * (_last_epoch - 1) / tmax)) * (g.LearningRate - eta) + eta).ToList();
                        }
                    }
                }

                public static LRScheduler CosineAnnealingLR(Optimizer optimizer, double T_max, double eta_min = 0, int last_epoch = -1, bool verbose = false)
                    => new impl.CosineAnnealingLR(optimizer, T_max, eta_min, last_epoch, verbose);
            }
        }
    }

    namespace Modules
    {
        using static torch.optim;

        /// <summary>Shared plumbing for the managed optimizers.</summary>
        public abstract class OptimizerHelper : Optimizer
        {
            internal List<ParamGroupBase> _groups = new();

        internal OptimizerHelper() { }

            public override IEnumerable<ILearningRateController> ParamGroups => _groups;

            internal override IEnumerable<Parameter> AllParameters() => _groups.SelectMany(g => g.Parameters);

        }

        internal class ParamGroupBase : ILearningRateController
        {
            internal ParamGroupBase(IEnumerable<Parameter> parameters, double lr)
            {
                Parameters = parameters.ToList();
                LearningRate = lr;
                InitialLearningRate = lr;
            }

            public IEnumerable<Parameter> Parameters { get; }

            public double LearningRate { get; set; }

            public double InitialLearningRate { get; set; }

            internal Dictionary<Parameter, Tensor[]> State { get; } = new(ReferenceEqualityComparer.Instance);


            internal void DisposeState()
            {
                foreach (var s in State.Values)
                    foreach (var t in s) t?.Dispose();
                State.Clear();
            }
        }

        public class SGD : OptimizerHelper, IMomentum
        {
            private readonly double _dampening, _weight_decay;
            private readonly bool _nesterov, _maximize;

            internal SGD(IEnumerable<Parameter> parameters, double lr, double momentum, double dampening, double weight_decay, bool nesterov, bool maximize)
            {
                if (lr < 0) throw new ArgumentException($"Invalid learning rate: {lr}");
                if (momentum < 0) throw new ArgumentException($"Invalid momentum value: {momentum}");
                if (weight_decay < 0) throw new ArgumentException($"Invalid weight_decay value: {weight_decay}");
                if (nesterov && (momentum <= 0 || dampening != 0)) throw new ArgumentException("Nesterov momentum requires a momentum and zero dampening");
                Momentum = momentum;
                _dampening = dampening;
                _weight_decay = weight_decay;
                _nesterov = nesterov;
                _maximize = maximize;
                _groups.Add(new ParamGroupBase(parameters, lr));
            }

            public double Momentum { get; set; }

            public override Tensor step(Func<Tensor>? closure = null)
            {
                Tensor? loss = null;
                if (closure is not null) using (torch.enable_grad()) loss = closure();
                using var ng = torch.no_grad();
                foreach (var g in _groups) {
                    foreach (var p in g.Parameters) {
                        using var scope = torch.NewDisposeScope();
                        var grad = p.grad;
                        if (grad is null) continue;
                        var d_p = _maximize ? grad.neg() : grad;
                        if (_weight_decay != 0) d_p = d_p.add(p, _weight_decay);
                        if (Momentum != 0) {
                            if (!g.State.TryGetValue(p, out var st)) {
                                var buf = d_p.clone().DetachFromDisposeScope();
                                g.State[p] = st = new[] { buf };
                            } else {
                                st[0].mul_(Momentum).add_(d_p, 1 - _dampening);
                            }
                            d_p = _nesterov ? d_p.add(st[0], Momentum) : st[0];
                        }
                        p.add_(d_p, -g.LearningRate);
                    }
                }
                return loss!;
            }
        }

        public class AdamW : OptimizerHelper, IBetas
        {
            private readonly double _eps, _weight_decay;
            private readonly bool _amsgrad, _maximize;

            internal AdamW(IEnumerable<Parameter> parameters, double lr, double beta1, double beta2, double eps, double weight_decay, bool amsgrad, bool maximize)
            {
                if (lr < 0) throw new ArgumentException($"Invalid learning rate: {lr}");
                if (eps < 0) throw new ArgumentException($"Invalid epsilon value: {eps}");
                if (beta1 < 0 || beta1 >= 1) throw new ArgumentException($"Invalid beta parameter at index 0: {beta1}");
                if (beta2 < 0 || beta2 >= 1) throw new ArgumentException($"Invalid beta parameter at index 1: {beta2}");
                Betas = (beta1, beta2);
                _eps = eps;
                _weight_decay = weight_decay;
                _amsgrad = amsgrad;
                _maximize = maximize;
                _groups.Add(new ParamGroupBase(parameters, lr));
            }

            public (double, double) Betas { get; set; }

            public override Tensor step(Func<Tensor>? closure = null)
            {
                Tensor? loss = null;
                if (closure is not null) using (torch.enable_grad()) loss = closure();
                using var ng = torch.no_grad();
                var (beta1, beta2) = Betas;
                foreach (var g in _groups) {
                    foreach (var p in g.Parameters) {
                        using var scope = torch.NewDisposeScope();
                        var grad = p.grad;
                        if (grad is null) continue;
                        if (_maximize) grad = grad.neg();
                        if (!g.State.TryGetValue(p, out var st)) {
                            st = new Tensor[4];
                            st[0] = null!;   // step count is kept on the host
                            st[1] = torch.zeros_like(p).DetachFromDisposeScope();   // exp_avg
                            st[2] = torch.zeros_like(p).DetachFromDisposeScope();   // exp_avg_sq
                            st[3] = _amsgrad ? torch.zeros_like(p).DetachFromDisposeScope() : null!;
                            g.State[p] = st;
                            _steps[p] = 0;
                        }
                        var step = ++_steps[p];
                        p.mul_(1 - g.LearningRate * _weight_decay);
                        st[1].lerp_(grad, 1 - beta1);
                        st[2].mul_(beta2).addcmul_(grad, grad, 1 - beta2);
                        var bc1 = 1 - Math.Pow(beta1, step);
                        var bc2 = 1 - Math.Pow(beta2, step);
                        var stepSize = g.LearningRate / bc1;
                        var bc2Sqrt = Math.Sqrt(bc2);
                        Tensor denom;
                        if (_amsgrad) {
                            var mx = st[3].maximum(st[2]);
                            st[3].copy_(mx);
                            denom = st[3].sqrt().div(bc2Sqrt).add_(_eps);
                        } else {
                            denom = st[2].sqrt().div(bc2Sqrt).add_(_eps);
                        }
                        p.addcdiv_(st[1], denom, -stepSize);
                    }
                }
                return loss!;
            }

            private readonly Dictionary<Parameter, long> _steps = new(ReferenceEqualityComparer.Instance);
        }
    }
}
