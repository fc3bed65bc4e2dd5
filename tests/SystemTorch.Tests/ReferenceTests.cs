using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace SystemTorch.Tests
{
    /// <summary>Every op / module / gradient / optimizer case, computed by SystemTorch and by PyTorch.</summary>
    public static class Cases
    {
        private static Tensor R(params long[] shape) => torch.randn(shape);

        private static Dictionary<string, Tensor> D(params (string, Tensor)[] items) => items.ToDictionary(i => i.Item1, i => i.Item2);

        private static Dictionary<string, Tensor> WithSd(nn.Module m, params (string, Tensor)[] items)
        {
            var d = D(items);
            foreach (var (k, v) in m.state_dict()) d["sd." + k] = v;
            return d;
        }

        /// <summary>Cases built lazily once (inputs are random; the seed keeps them stable).</summary>
        public static readonly Lazy<List<RefCase>> All = new(Build);

        /// <summary>Modules by case name, for the state_dict key comparisons.</summary>
        public static readonly Dictionary<string, nn.Module> Modules = new();

        private static void Op(List<RefCase> l, string name, Dictionary<string, Tensor> ins, string py, Func<Dictionary<string, Tensor>, Dictionary<string, Tensor>> cs, double tol = 1e-5)
            => l.Add(new RefCase(name, ins, py, cs, tol));

        private static void Mod(List<RefCase> l, string name, nn.Module<Tensor, Tensor> m, string pyCtor, Tensor x, double tol = 1e-5, bool train = false, string pyPost = "")
        {
            Modules[name] = m;
            if (!train) m.eval();
            var py = $"m = {pyCtor}\nm.load_state_dict(SD(), strict=True)\n" + (train ? "m.train()\n" : "m.eval()\n")
                     + "out['y'] = m(I['x'])\nmeta['keys'] = list(m.state_dict().keys())\n" + pyPost;
            l.Add(new RefCase(name, WithSd(m, ("x", x)), py, i => {
                var r = new Dictionary<string, Tensor> { ["y"] = m.call(i["x"]) };
                if (pyPost.Length > 0) foreach (var (k, v) in m.state_dict()) r["sd." + k] = v;
                return r;
            }, tol));
        }

        private static List<RefCase> Build()
        {
            torch.manual_seed(1234);
            var l = new List<RefCase>();

            // ---------------------------------------------------------------- pointwise / arithmetic
            Op(l, "add_broadcast", D(("x", R(3, 4)), ("y", R(4))), "out['a'] = I['x'] + I['y']; out['b'] = torch.add(I['x'], I['y'], alpha=2.5)",
                i => D(("a", i["x"] + i["y"]), ("b", i["x"].add(i["y"], 2.5))));
            Op(l, "scalar_arith", D(("x", R(3, 4))), "x = I['x']; out['a'] = x - 2.5; out['b'] = 2.5 - x; out['c'] = x * 3; out['d'] = x / 4; out['e'] = 2 / (x.abs() + 1); out['f'] = -x; out['g'] = x + 1",
                i => { var x = i["x"]; return D(("a", x - 2.5), ("b", 2.5 - x), ("c", x * 3), ("d", x / 4), ("e", 2 / (x.abs() + 1)), ("f", -x), ("g", x + 1)); });
            Op(l, "tensor_arith", D(("x", R(2, 3)), ("y", R(2, 3))), "x, y = I['x'], I['y']; out['a'] = x * y; out['b'] = x / (y.abs() + 1); out['c'] = x - y; out['d'] = torch.maximum(x, y); out['e'] = torch.minimum(x, y)",
                i => { var (x, y) = (i["x"], i["y"]); return D(("a", x * y), ("b", x / (y.abs() + 1)), ("c", x - y), ("d", x.maximum(y)), ("e", x.minimum(y))); });
            Op(l, "unary", D(("x", R(4, 5))),
                "x = I['x']; out['relu'] = x.relu(); out['sig'] = x.sigmoid(); out['gelu'] = F.gelu(x); out['gelu_t'] = F.gelu(x, approximate='tanh'); out['silu'] = F.silu(x); out['tanh'] = x.tanh(); out['exp'] = x.exp(); out['log'] = (x.abs() + 1).log(); out['sqrt'] = x.abs().sqrt(); out['pow'] = x.pow(2); out['pow3'] = x.abs().pow(1.5); out['rsqrt'] = (x.abs()+1).rsqrt(); out['abs'] = x.abs(); out['clamp'] = x.clamp(-0.5, 0.7); out['clampmin'] = x.clamp(min=0.1); out['erf'] = x.erf(); out['hs'] = F.hardswish(x); out['lrelu'] = F.leaky_relu(x, 0.2)",
                i => { var x = i["x"]; return D(("relu", x.relu()), ("sig", x.sigmoid()), ("gelu", F.gelu(x)), ("gelu_t", F.gelu(x, GELU.Approximate.tanh)), ("silu", F.silu(x)), ("tanh", x.tanh()), ("exp", x.exp()), ("log", (x.abs() + 1).log()), ("sqrt", x.abs().sqrt()), ("pow", x.pow(2)), ("pow3", x.abs().pow(1.5)), ("rsqrt", (x.abs() + 1).rsqrt()), ("abs", x.abs()), ("clamp", x.clamp(-0.5, 0.7)), ("clampmin", x.clamp(0.1)), ("erf", x.erf()), ("hs", F.hardswish(x)), ("lrelu", F.leaky_relu(x, 0.2))); });
            Op(l, "compare_where", D(("x", R(3, 4)), ("y", R(3, 4))),
                "x, y = I['x'], I['y']; out['gt'] = x > y; out['lt0'] = x < 0; out['eq'] = x.eq(x); out['w'] = torch.where(x > 0, x, y); out['mf'] = x.masked_fill(x < 0, -1e4)",
                i => { var (x, y) = (i["x"], i["y"]); return D(("gt", x.gt(y)), ("lt0", x.lt(0)), ("eq", x.eq(x)), ("w", torch.where(x.gt(0), x, y)), ("mf", x.masked_fill(x.lt(0), -1e4))); });

            Op(l, "dtypes", D(("x", R(4, 6) * 100)),
                "x = I['x']; out['h'] = x.half().float(); out['bf'] = x.bfloat16().float(); out['l'] = x.long(); out['i'] = x.int(); out['d'] = x.double(); out['b'] = (x > 0).float(); out['hh'] = (x.half() * 3).float()",
                i => { var x = i["x"]; return D(("h", x.to_type(ScalarType.Float16).@float()), ("bf", x.to(ScalarType.BFloat16).to_type(ScalarType.Float32)), ("l", x.@long()), ("i", x.to_type(ScalarType.Int32)), ("d", x.@double()), ("b", x.gt(0).to_type(ScalarType.Float32)), ("hh", (x.half() * 3).@float())); }, 0);
            Op(l, "int_arith", D(("a", torch.randint(-50, 50, new long[] { 10 })), ("b", torch.randint(1, 9, new long[] { 10 }))),
                "a, b = I['a'], I['b']; out['s'] = a + b; out['m'] = a * 3; out['fd'] = torch.div(a, b, rounding_mode='floor'); out['td'] = torch.div(a, b, rounding_mode='trunc'); out['tdiv'] = a / b; out['sum'] = a.sum(); out['am'] = a.argmax()",
                i => { var (a, b) = (i["a"], i["b"]); return D(("s", a + b), ("m", a * 3), ("fd", a.div(b, RoundingMode.floor)), ("td", a.div(b, RoundingMode.trunc)), ("tdiv", a / b), ("sum", a.sum()), ("am", a.argmax())); }, 0);

            // ---------------------------------------------------------------- linear algebra
            Op(l, "matmul", D(("a", R(2, 3, 4)), ("b", R(4, 5)), ("c", R(2, 5, 6)), ("m", R(64, 64))),
                "out['ab'] = I['a'] @ I['b']; out['bmm'] = torch.bmm(I['a'] @ I['b'], I['c']); out['mm'] = I['m'] @ I['m']",
                i => D(("ab", i["a"].matmul(i["b"])), ("bmm", i["a"].matmul(i["b"]).bmm(i["c"])), ("mm", i["m"].matmul(i["m"]))), 1e-4);
            Op(l, "einsum", D(("q", R(2, 3, 5, 8)), ("k", R(2, 3, 7, 8)), ("v", R(2, 3, 7, 8))),
                "a = torch.einsum('bhqd,bhkd->bhqk', I['q'], I['k']) * 8 ** -0.5; out['att'] = a.softmax(-1); out['o'] = torch.einsum('bhqk,bhkd->bhqd', out['att'], I['v'])",
                i => { var a = torch.einsum("bhqd,bhkd->bhqk", i["q"], i["k"]) * Math.Pow(8, -0.5); var s = a.softmax(-1); return D(("att", s), ("o", torch.einsum("bhqk,bhkd->bhqd", s, i["v"]))); }, 1e-4);

            // ---------------------------------------------------------------- shape ops
            Op(l, "shape_ops", D(("x", R(2, 3, 4, 5))),
                "x = I['x']; out['perm'] = x.permute(0, 2, 3, 1); out['tr'] = x.transpose(1, 3); out['resh'] = x.reshape(6, 20); out['view'] = x.view(2, -1); out['flat'] = x.flatten(1); out['flat2'] = x.flatten(1, 2); out['unsq'] = x.unsqueeze(1); out['sq'] = x[:, :1].squeeze(1); out['exp'] = x[:, :1].expand(2, 3, 4, 5); out['rep'] = x.repeat(1, 2, 1, 1); out['contig'] = x.transpose(2, 3).contiguous(); out['narrow'] = x.narrow(2, 1, 2)",
                i => { var x = i["x"]; return D(("perm", x.permute(0, 2, 3, 1)), ("tr", x.transpose(1, 3)), ("resh", x.reshape(6, 20)), ("view", x.view(2, -1)), ("flat", x.flatten(1)), ("flat2", x.flatten(1, 2)), ("unsq", x.unsqueeze(1)), ("sq", x[.., ..1].squeeze(1)), ("exp", x[.., ..1].expand(2, 3, 4, 5)), ("rep", x.repeat(1, 2, 1, 1)), ("contig", x.transpose(2, 3).contiguous()), ("narrow", x.narrow(2, 1, 2))); });
            Op(l, "split_chunk_cat", D(("x", R(4, 10))),
                "x = I['x']; a = x.split(3, 1); b = x.chunk(2, 0); c = x.split([2, 8], 1)\nfor j, t in enumerate(a): out[f'a{j}'] = t\nfor j, t in enumerate(b): out[f'b{j}'] = t\nfor j, t in enumerate(c): out[f'c{j}'] = t\nout['cat'] = torch.cat([a[0], a[1]], 1); out['stack'] = torch.stack([b[0], b[1]], 0)",
                i => {
                    var x = i["x"]; var r = new Dictionary<string, Tensor>();
                    var a = x.split(3, 1); var b = x.chunk(2, 0); var c = x.split(new long[] { 2, 8 }, 1);
                    for (int j = 0; j < a.Length; j++) r[$"a{j}"] = a[j];
                    for (int j = 0; j < b.Length; j++) r[$"b{j}"] = b[j];
                    for (int j = 0; j < c.Length; j++) r[$"c{j}"] = c[j];
                    r["cat"] = torch.cat(new[] { a[0], a[1] }, 1); r["stack"] = torch.stack(new[] { b[0], b[1] }, 0);
                    return r;
                });
            Op(l, "indexing", D(("x", R(3, 4, 6)), ("idx", torch.tensor(new long[] { 2, 0 }))),
                "x = I['x']; out['a'] = x[1, :, 2:5]; out['b'] = x[..., None]; out['c'] = x[I['idx']]; out['d'] = x[:, ::2]; out['e'] = x[-1]; out['f'] = x[:, 1, -2]\ny = x.clone(); y[0, 1:3] = 5.0; out['put'] = y\nz = x.clone(); z[:, 0] = x[:, 1]; out['put2'] = z",
                i => {
                    var x = i["x"];
                    var y = x.clone(); y[0, 1..3] = torch.tensor(5.0f);
                    var z = x.clone(); z[.., 0] = x[.., 1];
                    return D(("a", x[1, .., 2..5]), ("b", x[TensorIndex.Ellipsis, TensorIndex.None]), ("c", x[i["idx"]]), ("d", x[.., TensorIndex.Slice(null, null, 2)]), ("e", x[-1]), ("f", x[.., 1, -2]), ("put", y), ("put2", z));
                });
            Op(l, "pad", D(("x", R(1, 2, 4, 5))),
                "x = I['x']; out['c'] = F.pad(x, (1, 2, 0, 1)); out['c2'] = F.pad(x, (1, 1, 1, 1), value=0.5); out['r'] = F.pad(x, (1, 1, 2, 2), mode='reflect'); out['p'] = F.pad(x, (2, 0, 0, 1), mode='replicate')",
                i => { var x = i["x"]; return D(("c", F.pad(x, new long[] { 1, 2, 0, 1 })), ("c2", F.pad(x, new long[] { 1, 1, 1, 1 }, value: 0.5)), ("r", F.pad(x, new long[] { 1, 1, 2, 2 }, PaddingModes.Reflect)), ("p", F.pad(x, new long[] { 2, 0, 0, 1 }, PaddingModes.Replicate))); });

            // ---------------------------------------------------------------- reductions / softmax
            Op(l, "reductions", D(("x", R(3, 4, 5))),
                "x = I['x']; out['sum'] = x.sum(); out['sum1'] = x.sum(1); out['sumk'] = x.sum([0, 2], keepdim=True); out['mean'] = x.mean(); out['mean2'] = x.mean([1, 2]); out['amax'] = x.amax(-1); out['amaxk'] = x.amax([1, 2], keepdim=True); v, ix = x.max(1); out['maxv'] = v; out['maxi'] = ix; out['max'] = x.max(); out['argmax'] = x.argmax(-1); out['argmax_all'] = x.argmax(); out['var'] = x.var(1); out['std'] = x.std()",
                i => { var x = i["x"]; var (v, ix) = x.max(1); return D(("sum", x.sum()), ("sum1", x.sum(1)), ("sumk", x.sum(new long[] { 0, 2 }, true)), ("mean", x.mean()), ("mean2", x.mean(new long[] { 1, 2 })), ("amax", x.amax(-1)), ("amaxk", x.amax(new long[] { 1, 2 }, true)), ("maxv", v), ("maxi", ix), ("max", x.max()), ("argmax", x.argmax(-1)), ("argmax_all", x.argmax()), ("var", x.var(1)), ("std", x.std())); });
            Op(l, "softmax", D(("x", R(2, 3, 7))),
                "x = I['x']; out['s'] = x.softmax(-1); out['s1'] = F.softmax(x, 1); out['ls'] = F.log_softmax(x, -1); out['sm'] = nn.Softmax(1)(x)",
                i => { var x = i["x"]; return D(("s", x.softmax(-1)), ("s1", F.softmax(x, 1)), ("ls", F.log_softmax(x, -1)), ("sm", nn.Softmax(1).call(x))); });

            // ---------------------------------------------------------------- nn functional
            Op(l, "unfold", D(("x", R(2, 3, 6, 7))),
                "x = I['x']; out['u'] = F.unfold(x, 3, padding=1); out['u2'] = F.unfold(x, (2, 3), dilation=(1, 2), padding=(0, 1), stride=(2, 1))",
                i => { var x = i["x"]; return D(("u", F.unfold(x, 3, padding: 1)), ("u2", F.unfold(x, (2, 3), (1, 2), (0, 1), (2, 1)))); });
            Op(l, "interpolate", D(("x", R(1, 2, 5, 6))),
                "x = I['x']; out['n'] = F.interpolate(x, scale_factor=2.0, mode='nearest'); out['b'] = F.interpolate(x, size=(7, 9), mode='bilinear', align_corners=False); out['ba'] = F.interpolate(x, size=(10, 12), mode='bilinear', align_corners=True); out['ns'] = F.interpolate(x, size=(3, 4))",
                i => { var x = i["x"]; return D(("n", F.interpolate(x, scale_factor: new[] { 2.0, 2.0 })), ("b", F.interpolate(x, new long[] { 7, 9 }, mode: InterpolationMode.Bilinear, align_corners: false)), ("ba", F.interpolate(x, new long[] { 10, 12 }, mode: InterpolationMode.Bilinear, align_corners: true)), ("ns", F.interpolate(x, new long[] { 3, 4 }))); });
            Op(l, "cross_entropy", D(("x", R(6, 5)), ("t", torch.tensor(new long[] { 0, 4, 2, 1, 3, 2 })), ("x4", R(2, 5, 3, 3)), ("t4", torch.randint(0, 5, new long[] { 2, 3, 3 }))),
                "x, t = I['x'], I['t']; out['ce'] = F.cross_entropy(x, t); out['ls'] = F.cross_entropy(x, t, label_smoothing=0.1); out['sum'] = F.cross_entropy(x, t, reduction='sum'); out['none'] = F.cross_entropy(x, t, reduction='none'); out['ign'] = F.cross_entropy(x, t, ignore_index=2); out['ce4'] = F.cross_entropy(I['x4'], I['t4'], label_smoothing=0.2); out['nll'] = F.nll_loss(F.log_softmax(x, 1), t); out['mse'] = F.mse_loss(x, x * 0.5)",
                i => { var (x, t) = (i["x"], i["t"]); return D(("ce", F.cross_entropy(x, t)), ("ls", F.cross_entropy(x, t, label_smoothing: 0.1)), ("sum", F.cross_entropy(x, t, reduction: nn.Reduction.Sum)), ("none", F.cross_entropy(x, t, reduction: nn.Reduction.None)), ("ign", F.cross_entropy(x, t, ignore_index: 2)), ("ce4", F.cross_entropy(i["x4"], i["t4"], label_smoothing: 0.2)), ("nll", F.nll_loss(F.log_softmax(x, 1), t)), ("mse", F.mse_loss(x, x * 0.5))); });
            Op(l, "pooling", D(("x", R(2, 3, 9, 11))),
                "x = I['x']; out['mp'] = F.max_pool2d(x, 3, 2, 1); out['mpc'] = F.max_pool2d(x, 2, ceil_mode=True); out['ap'] = F.avg_pool2d(x, 3, 2, 1); out['apc'] = F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False); out['aap'] = F.adaptive_avg_pool2d(x, (3, 4)); out['aap1'] = F.adaptive_avg_pool2d(x, 1); out['mpm'] = nn.MaxPool2d(3, 2, 1, ceil_mode=True)(x); out['apm'] = nn.AvgPool2d(2, ceil_mode=True, count_include_pad=False)(x); out['aapm'] = nn.AdaptiveAvgPool2d((2, 2))(x)",
                i => { var x = i["x"]; return D(("mp", F.max_pool2d(x, 3, 2, 1)), ("mpc", F.max_pool2d(x, 2, ceil_mode: true)), ("ap", F.avg_pool2d(x, 3, 2, 1)), ("apc", F.avg_pool2d(x, 3, 2, 1, ceil_mode: true, count_include_pad: false)), ("aap", F.adaptive_avg_pool2d(x, (3, 4))), ("aap1", F.adaptive_avg_pool2d(x, 1)), ("mpm", nn.MaxPool2d(3, 2, 1, ceil_mode: true).call(x)), ("apm", nn.AvgPool2d(2, ceil_mode: true, count_include_pad: false).call(x)), ("aapm", nn.AdaptiveAvgPool2d((2, 2)).call(x))); });
            Op(l, "norm_functional", D(("x", R(2, 8, 5, 5)), ("w", R(8)), ("b", R(8))),
                "x = I['x']; out['ln'] = F.layer_norm(x, [5, 5]); out['gn'] = F.group_norm(x, 4, I['w'], I['b']); out['in'] = F.instance_norm(x); out['bn'] = F.batch_norm(x, None, None, I['w'], I['b'], training=True)",
                i => { var x = i["x"]; return D(("ln", F.layer_norm(x, new long[] { 5, 5 })), ("gn", F.group_norm(x, 4, i["w"], i["b"])), ("in", F.instance_norm(x)), ("bn", F.batch_norm(x, null, null, i["w"], i["b"], training: true))); }, 1e-4);

            // ---------------------------------------------------------------- modules
            Mod(l, "conv_3x3_nobias", nn.Conv2d(8, 16, 3, stride: 1, padding: 1, bias: false), "nn.Conv2d(8, 16, 3, 1, 1, bias=False)", R(2, 8, 9, 9), 1e-4);
            Mod(l, "conv_s2_bias", nn.Conv2d(8, 6, 3, stride: 2, padding: 1), "nn.Conv2d(8, 6, 3, 2, 1)", R(2, 8, 9, 10), 1e-4);
            Mod(l, "conv_1x1", nn.Conv2d(8, 4, 1), "nn.Conv2d(8, 4, 1)", R(1, 8, 5, 5), 1e-4);
            Mod(l, "conv_dilated", nn.Conv2d(4, 4, 3, padding: 2, dilation: 2), "nn.Conv2d(4, 4, 3, padding=2, dilation=2)", R(1, 4, 9, 9), 1e-4);
            Mod(l, "conv_groups", nn.Conv2d(8, 16, 3, padding: 1, groups: 4), "nn.Conv2d(8, 16, 3, padding=1, groups=4)", R(2, 8, 6, 6), 1e-4);
            Mod(l, "conv_depthwise", nn.Conv2d(8, 8, 5, padding: 2, groups: 8, bias: false), "nn.Conv2d(8, 8, 5, padding=2, groups=8, bias=False)", R(2, 8, 7, 7), 1e-4);
            Mod(l, "conv_same", nn.Conv2d(4, 5, 5, Padding.Same, dilation: 2), "nn.Conv2d(4, 5, 5, padding='same', dilation=2)", R(1, 4, 8, 8), 1e-4);
            Mod(l, "conv_tuple", nn.Conv2d(4, 5, (3, 5), stride: (2, 1), padding: (1, 2)), "nn.Conv2d(4, 5, (3, 5), stride=(2, 1), padding=(1, 2))", R(1, 4, 8, 8), 1e-4);
            Mod(l, "conv_reflect", nn.Conv2d(3, 4, 3, padding: 1, padding_mode: PaddingModes.Reflect), "nn.Conv2d(3, 4, 3, padding=1, padding_mode='reflect')", R(1, 3, 6, 6), 1e-4);
            Mod(l, "conv_valid", nn.Conv2d(3, 4, 3, Padding.Valid, stride: 1), "nn.Conv2d(3, 4, 3, padding='valid')", R(1, 3, 7, 7), 1e-4);
            Mod(l, "conv_circular", nn.Conv2d(3, 4, 3, padding: 1, padding_mode: PaddingModes.Circular), "nn.Conv2d(3, 4, 3, padding=1, padding_mode='circular')", R(1, 3, 6, 6), 1e-4);
            Mod(l, "conv_replicate", nn.Conv2d(3, 4, (3, 3), stride: (2, 2), padding: (1, 1), padding_mode: PaddingModes.Replicate), "nn.Conv2d(3, 4, 3, stride=2, padding=1, padding_mode='replicate')", R(1, 3, 7, 7), 1e-4);
            Mod(l, "maxpool_dilated", nn.MaxPool2d(3, stride: 1, padding: 1, dilation: 2), "nn.MaxPool2d(3, stride=1, padding=1, dilation=2)", R(1, 2, 9, 9));
            Mod(l, "bn_eval", PrimedBn(), "nn.BatchNorm2d(6)", R(4, 6, 5, 5), 1e-4);
            Mod(l, "bn_train", nn.BatchNorm2d(6, momentum: 0.2), "nn.BatchNorm2d(6, momentum=0.2)", R(4, 6, 5, 5), 1e-4, train: true,
                pyPost: "for k, v in m.state_dict().items(): out['sd.' + k] = v\n");
            Mod(l, "bn_noaffine", nn.BatchNorm2d(6, affine: false, track_running_stats: false), "nn.BatchNorm2d(6, affine=False, track_running_stats=False)", R(4, 6, 3, 3), 1e-4);
            Mod(l, "layernorm_last", nn.LayerNorm(16), "nn.LayerNorm(16)", R(2, 7, 16), 1e-4);
            Mod(l, "layernorm_chw", nn.LayerNorm(new long[] { 4, 5, 5 }, eps: 1e-6), "nn.LayerNorm([4, 5, 5], eps=1e-6)", R(2, 4, 5, 5), 1e-4);
            Mod(l, "groupnorm", nn.GroupNorm(4, 16), "nn.GroupNorm(4, 16)", R(2, 16, 5, 5), 1e-4);
            Mod(l, "instancenorm", nn.InstanceNorm2d(8, affine: true), "nn.InstanceNorm2d(8, affine=True)", R(2, 8, 6, 6), 1e-4);
            Mod(l, "instancenorm_plain", nn.InstanceNorm2d(8), "nn.InstanceNorm2d(8)", R(2, 8, 6, 6), 1e-4);
            Mod(l, "linear", nn.Linear(12, 7), "nn.Linear(12, 7)", R(3, 5, 12), 1e-4);
            Mod(l, "linear_nobias", nn.Linear(12, 7, hasBias: false), "nn.Linear(12, 7, bias=False)", R(4, 12), 1e-4);
            Mod(l, "sequential", nn.Sequential(nn.Conv2d(3, 8, 3, padding: 1, bias: false), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8 * 4 * 4, 5), nn.GELU(), nn.Dropout(0.3), nn.Identity(), nn.SiLU(), nn.Sigmoid()),
                "nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(128, 5), nn.GELU(), nn.Dropout(0.3), nn.Identity(), nn.SiLU(), nn.Sigmoid())", R(2, 3, 8, 8), 1e-4);
            Mod(l, "sequential_named", nn.Sequential(("conv", nn.Conv2d(3, 4, 1)), ("bn", nn.BatchNorm2d(4)), ("act", nn.ReLU(inplace: true))),
                "nn.Sequential(__import__('collections').OrderedDict([('conv', nn.Conv2d(3, 4, 1)), ('bn', nn.BatchNorm2d(4)), ('act', nn.ReLU(inplace=True))]))", R(2, 3, 4, 4), 1e-4);

            // ---------------------------------------------------------------- autograd
            {
                var net = nn.Sequential(nn.Conv2d(3, 6, 3, padding: 1, bias: false), nn.BatchNorm2d(6), nn.ReLU(), nn.Conv2d(6, 6, 3, stride: 2, padding: 1), nn.GroupNorm(3, 6), nn.GELU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.LayerNorm(6), nn.Linear(6, 4));
                Modules["grad_net"] = net;
                var ins = WithSd(net, ("x", R(4, 3, 8, 8)), ("t", torch.tensor(new long[] { 0, 3, 1, 2 })));
                var py = "m = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1, bias=False), nn.BatchNorm2d(6), nn.ReLU(), nn.Conv2d(6, 6, 3, stride=2, padding=1), nn.GroupNorm(3, 6), nn.GELU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.LayerNorm(6), nn.Linear(6, 4))\n"
                       + "m.load_state_dict(SD()); m.train()\nx = I['x'].clone().requires_grad_(True)\nloss = F.cross_entropy(m(x), I['t'], label_smoothing=0.1)\nloss.backward()\nout['loss'] = loss; out['gx'] = x.grad\nfor k, p in m.named_parameters(): out['g.' + k] = p.grad\n";
                l.Add(new RefCase("grad_net", ins, py, i => {
                    net.train();
                    var x = i["x"].clone().requires_grad_(true);
                    var loss = F.cross_entropy(net.call(x), i["t"], label_smoothing: 0.1);
                    loss.backward();
                    var r = D(("loss", loss), ("gx", x.grad!));
                    foreach (var (k, p) in net.named_parameters()) r["g." + k] = p.grad!;
                    return r;
                }, 1e-4));
            }
            Op(l, "grad_ops", D(("a", R(3, 4)), ("b", R(4, 5))),
                "a = I['a'].clone().requires_grad_(); b = I['b'].clone().requires_grad_()\ny = ((a @ b).softmax(-1) * torch.arange(5.0)).sum() + (a.pow(2).mean() / 3).sqrt()\ny.backward(); out['ga'] = a.grad; out['gb'] = b.grad; out['y'] = y",
                i => {
                    var a = i["a"].clone().requires_grad_(); var b = i["b"].clone().requires_grad_();
                    var y = (a.matmul(b).softmax(-1) * torch.arange(5.0f)).sum() + (a.pow(2).mean() / 3).sqrt();
                    y.backward();
                    return D(("ga", a.grad!), ("gb", b.grad!), ("y", y));
                }, 1e-5);

            // ---------------------------------------------------------------- optimizers
            foreach (var (name, make, pyMake) in new (string, Func<IEnumerable<Parameter>, torch.optim.Optimizer>, string)[] {
                ("sgd_momentum", ps => torch.optim.SGD(ps, 0.1, momentum: 0.9, weight_decay: 1e-2), "torch.optim.SGD(ps, 0.1, momentum=0.9, weight_decay=1e-2)"),
                ("sgd_nesterov", ps => torch.optim.SGD(ps, 0.05, momentum: 0.8, nesterov: true, weight_decay: 1e-3), "torch.optim.SGD(ps, 0.05, momentum=0.8, nesterov=True, weight_decay=1e-3)"),
                ("sgd_plain", ps => torch.optim.SGD(ps, 0.2), "torch.optim.SGD(ps, 0.2)"),
                ("adamw", ps => torch.optim.AdamW(ps, 1e-2, weight_decay: 0.05), "torch.optim.AdamW(ps, 1e-2, weight_decay=0.05)"),
                ("adamw_amsgrad", ps => torch.optim.AdamW(ps, 3e-3, 0.8, 0.95, 1e-6, 0.1, amsgrad: true), "torch.optim.AdamW(ps, 3e-3, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1, amsgrad=True)"),
            }) {
                var py = "p1 = nn.Parameter(I['p1'].clone()); p2 = nn.Parameter(I['p2'].clone()); ps = [p1, p2]\nopt = " + pyMake + "\nfor s in range(3):\n    opt.zero_grad()\n    p1.grad = I['g1'] * (s + 1) - p1.detach() * 0.1\n    p2.grad = I['g2'] / (s + 1)\n    opt.step()\nout['p1'] = p1; out['p2'] = p2\n";
                l.Add(new RefCase(name, D(("p1", R(3, 4)), ("p2", R(5)), ("g1", R(3, 4)), ("g2", R(5))), py, i => {
                    var p1 = new Parameter(i["p1"].clone()); var p2 = new Parameter(i["p2"].clone());
                    var opt = make(new[] { p1, p2 });
                    for (int s = 0; s < 3; s++) {
                        opt.zero_grad();
                        using (torch.no_grad()) {
                            p1.grad = i["g1"] * (s + 1) - p1.detach() * 0.1;
                            p2.grad = i["g2"] / (s + 1);
                        }
                        opt.step();
                    }
                    return D(("p1", p1), ("p2", p2));
                }, 1e-5));
            }
            l.Add(new RefCase("cosine_lr", D(("p", R(2))),
                "p = nn.Parameter(I['p'].clone()); opt = torch.optim.SGD([p], 0.5); sch = torch.optim.lr_scheduler.CosineAnnealingLR(opt, 7, eta_min=0.01)\nlrs = []\nfor s in range(16):\n    lrs.append(opt.param_groups[0]['lr']); opt.step(); sch.step()\nout['lrs'] = torch.tensor(lrs, dtype=torch.float64)\n",
                i => {
                    var p = new Parameter(i["p"].clone());
                    var opt = torch.optim.SGD(new[] { p }, 0.5);
                    var sch = torch.optim.lr_scheduler.CosineAnnealingLR(opt, 7, eta_min: 0.01);
                    var lrs = new List<double>();
                    for (int s = 0; s < 16; s++) { lrs.Add(opt.ParamGroups.First().LearningRate); opt.step(); sch.step(); }
                    return D(("lrs", torch.tensor(lrs.ToArray())));
                }, 1e-12));

            return l;
        }

        private static BatchNorm2d PrimedBn()
        {
            var bn = nn.BatchNorm2d(6);
            using var ng = torch.no_grad();
            bn.running_mean!.uniform_(-1, 1);
            bn.running_var!.uniform_(0.5, 2);
            bn.weight.normal_();
            bn.bias!.normal_();
            return bn;
        }
    }

    public sealed class ReferenceFixture
    {
        public PyReference Ref { get; } = new(Cases.All.Value);
    }

    [CollectionDefinition("pytorch")]
    public sealed class PyTorchCollection : ICollectionFixture<ReferenceFixture> { }

    [Collection("pytorch")]
    public sealed class ReferenceTests
    {
        private readonly ReferenceFixture _fx;

        public ReferenceTests(ReferenceFixture fx) => _fx = fx;

        public static IEnumerable<object[]> CaseNames => Cases.All.Value.Select(c => new object[] { c.Name });

        [Theory]
        [MemberData(nameof(CaseNames))]
        public void MatchesPyTorch(string name)
        {
            var c = Cases.All.Value.Single(x => x.Name == name);
            if (_fx.Ref.Meta.TryGetValue(name, out var meta) && meta.TryGetProperty("error", out var err))
                Assert.Fail("PyTorch reference failed: " + err.GetString());
            var expected = _fx.Ref.Outputs[name];
            using var scope = torch.NewDisposeScope();
            var actual = c.Cs(c.Inputs);
            Assert.Equal(expected.Keys.OrderBy(k => k, StringComparer.Ordinal), actual.Keys.OrderBy(k => k, StringComparer.Ordinal));
            foreach (var (k, e) in expected) Check.Close(e, actual[k], c.Tol, $"{name}/{k}");
        }

        public static IEnumerable<object[]> ModuleNames => Cases.All.Value.Where(c => Cases.Modules.ContainsKey(c.Name) && c.Name != "grad_net").Select(c => new object[] { c.Name });

        [Theory]
        [MemberData(nameof(ModuleNames))]
        public void StateDictKeysEqualPyTorch(string name)
        {
            var keys = _fx.Ref.Meta[name].GetProperty("keys").EnumerateArray().Select(e => e.GetString()!).ToList();
            Assert.Equal(keys, Cases.Modules[name].state_dict().Keys.ToList());
        }

        [Fact]
        public void BatchNormStateDictHasPyTorchBufferNames()
        {
            var keys = _fx.Ref.Meta["bn_eval"].GetProperty("keys").EnumerateArray().Select(e => e.GetString()).ToList();
            Assert.Equal(new[] { "weight", "bias", "running_mean", "running_var", "num_batches_tracked" }, keys);
            Assert.Equal(keys, Cases.Modules["bn_eval"].state_dict().Keys);
        }
    }
}
