"""PyTorch side of `torchwright bench`: the reference network of the same architecture, driven over stdin/stdout.

Started by the CLI as `python3 -u bench_reference.py`. It first prints one JSON line:
{"ok": true, "torch": version, "torch_path": torch.__file__, "debian": whether that is Debian's python3-torch}
or {"ok": false, "error": why} (then exits: no torch). After that it reads one JSON request per line and answers
each with one JSON line ({"ok": false, "error": ...} on failure):

  {"cmd": "setup", "spec": p, "weights": p, "data": p, "mode": "infer"|"train", "threads": n, "device": d,
   "precision": "fp32"|"bf16", "path": "eager"|"select"|a name of PATHS[mode], "trials": k}
      builds reference_nets.build(spec), loads the CLI module's weights strictly (the same numbers on both sides),
      loads the tensors "input" and "target"; with bf16 casts the model and the input to bfloat16 (as the C# side
      does: TorchSharp has no autocast, so neither side uses it). A path of PATHS (PyTorch's own fast paths of this
      version for the mode) is built from the loaded model and its logits checked against eager's (a mismatch is an
      error). "select" builds every path, times them round-robin for k rounds and only replies which is fastest
      (eager included): the C# side then runs that path in a fresh process, so its memory is that path's alone.
      Replies threads, the model's dtype ("fp32"/"bf16"), parameter count, the resident set once set up, "path" (the
      path it runs, or chose) and "candidates" (for select, each: "path", and "ms" (median of the k trials) or "error").
  {"cmd": "run", "iterations": k}     k iterations, each timed alone; replies "seconds": [...] and "faults": [...]
                                      (minor + major page faults of each iteration, from getrusage)
  {"cmd": "reset_peak"}               starts a measured region (the same /proc/self/clear_refs as PeakMemory.cs)
  {"cmd": "peak"}                     replies "peak_bytes": VmHWM since reset_peak
  {"cmd": "quit"}

An iteration is what the C# side does: infer = eval-mode forward under no_grad; train = train-mode forward,
cross-entropy against "target", backward, SGD step (lr 0.01, momentum 0.9), gradients set to None between steps.
"""
import json
import resource
import sys
import time
import traceback


def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


try:
    import torch
    import torch.nn.functional as F
    import reference_nets
    import st_io
except Exception as e:  # no torch (or a broken install): say so once and stop
    reply({"ok": False, "error": f"{type(e).__name__}: {e}"})
    sys.exit(0)


def status_bytes(key):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def page_faults():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_minflt + usage.ru_majflt


def reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def _listed(what, names, limit=8):
    if not names:
        return ""
    more = f", ... ({len(names) - limit} more)" if len(names) > limit else ""
    return f"{len(names)} {what}: {', '.join(names[:limit])}{more}"


# Parity of a fast path's logits with eager: max |difference| over max |eager logit|. The fp32 paths reorder sums
# (oneDNN blocked layouts, BatchNorm folded into the weights), which moves logits by about 1e-6 relative; bf16 by 1e-2.
PATH_TOLERANCE = {torch.float32: 1e-3, torch.bfloat16: 5e-2}


def _channels_last(model, x, train):
    return model.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)


def _jit_optimized(model, x, train, channels_last):
    """torch.jit.trace, then freeze (weights become constants, BatchNorm folded into convolutions) and
    optimize_for_inference (oneDNN layouts and conv+activation fusion where this version has them)."""
    if channels_last:
        model, x = _channels_last(model, x, train)
    with torch.no_grad():
        traced = torch.jit.trace(model, x, check_trace=False)
        frozen = torch.jit.optimize_for_inference(torch.jit.freeze(traced))
    return frozen, x


def _fx_fused(model, x, train):
    """torch.fx conv-BN fusion (torch.fx.experimental.optimization.fuse: symbolic trace, fold each eval BatchNorm
    into the convolution before it), in channels_last."""
    import torch.fx.experimental.optimization as fxo
    return _channels_last(fxo.fuse(model), x, train)


# PyTorch's own CPU paths a user of this version would try, per mode: name -> build(model, x, train) -> (module, x).
# Training can only change the memory format; freezing and fusion are inference-only.
PATHS = {
    "infer": {
        "channels_last": _channels_last,
        "jit.freeze+optimize_for_inference": lambda m, x, t: _jit_optimized(m, x, t, channels_last=False),
        "jit.freeze+optimize_for_inference, channels_last": lambda m, x, t: _jit_optimized(m, x, t, channels_last=True),
        "fx conv-bn fusion, channels_last": _fx_fused,
    },
    "train": {
        "channels_last": _channels_last,
    },
}


class Session:
    def __init__(self):
        self.model = None

    def setup(self, req):
        torch.set_num_threads(int(req["threads"]))
        self.device = torch.device(req["device"])
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(f"this PyTorch ({torch.__version__}) has no CUDA device")
        with open(req["spec"], encoding="utf-8") as f:
            spec = json.load(f)
        model = reference_nets.build(spec)
        weights, _ = st_io.load(req["weights"])
        sd = model.state_dict()
        problems = [_listed("missing from the Torchwright module", sorted(set(sd) - set(weights))),
                    _listed("not in the reference", sorted(set(weights) - set(sd))),
                    _listed("shape mismatches", [f"{k} {list(weights[k].shape)} vs reference {list(sd[k].shape)}"
                                                 for k in sorted(set(sd) & set(weights)) if weights[k].shape != sd[k].shape])]
        if any(problems):
            raise RuntimeError("the reference network does not match the Torchwright module: " + "; ".join(p for p in problems if p))
        model.load_state_dict(weights, strict=True)
        data, _ = st_io.load(req["data"])
        dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[req.get("precision", "fp32")]
        model = model.to(self.device, dtype)
        self.dtype = dtype
        self.x = data["input"].to(self.device, dtype)
        self.y = data["target"].to(self.device)
        self.train = req["mode"] == "train"
        model.train(self.train)
        params = sum(p.numel() for p in model.parameters())
        path = req.get("path", "eager")
        paths = PATHS[req["mode"]]
        candidates = []
        if path == "select":
            path, candidates = self.select(model, paths, int(req.get("trials", 3)))
            self.model = None  # this process only chose; the C# side starts a fresh one on the chosen path
        elif path == "eager":
            self.model = model
        elif path in paths:
            self.model, self.x = self.build(model, path, paths[path], keep_model=False)
        else:
            raise ValueError(f"unknown path {path!r} for {req['mode']} (eager, select, or one of {', '.join(paths)})")
        if self.train and self.model is not None:
            self.opt = torch.optim.SGD(self.model.parameters(), lr=0.01, momentum=0.9)
        return {"threads": torch.get_num_threads(), "dtype": {torch.float32: "fp32", torch.bfloat16: "bf16"}.get(dtype, str(dtype)),
                "params": params, "path": path, "candidates": candidates,
                "setup_rss_bytes": status_bytes("VmRSS:")}

    def _logits(self, model, x):
        was = getattr(model, "training", None)  # a frozen TorchScript module is inference-only and has no mode
        with torch.no_grad():
            if was is not None:
                model.eval()
            out = model(x).float()
            if was is not None:
                model.train(was)
        return out

    def build(self, model, name, build, keep_model=True):
        """The path `name` of `model` (of a copy while `keep_model`), checked against eager's logits on the batch:
        (module, input in its layout)."""
        import copy
        expected = self._logits(model, self.x)
        m, x = build(copy.deepcopy(model) if keep_model else model, self.x, self.train)
        diff = (self._logits(m, x) - expected).abs().max().item() / max(expected.abs().max().item(), 1e-12)
        if not diff <= PATH_TOLERANCE[self.dtype]:
            raise RuntimeError(f"logits differ from eager by {diff:.3g} relative (tolerance {PATH_TOLERANCE[self.dtype]:g})")
        return m, x

    def select(self, model, paths, trials):
        """Eager and every path of `paths` that builds and matches eager, timed round-robin (one untimed iteration each,
        then `trials` rounds of one iteration per path, so load from other processes hits them alike): the fastest
        path's name and every candidate's median ms or error."""
        built, errors = {"eager": (model, self.x)}, {}
        for name, build in paths.items():
            try:
                built[name] = self.build(model, name, build)
            except Exception as e:  # a path this model cannot take: say why, keep the others
                first = str(e).splitlines()[0] if str(e) else ""
                errors[name] = f"{type(e).__name__}: {first}"
        opts = {name: torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9) for name, (m, _) in built.items()} if self.train else {}
        ms = {name: [] for name in built}
        for t in range(trials + 1):
            for name, (m, x) in built.items():
                self.model, self.x, self.opt = m, x, opts.get(name)
                t0 = time.perf_counter()
                self.step()
                if t > 0:
                    ms[name].append(1000 * (time.perf_counter() - t0))
        median = {name: sorted(v)[len(v) // 2] if len(v) % 2 else sum(sorted(v)[len(v) // 2 - 1:len(v) // 2 + 1]) / 2 for name, v in ms.items()}
        best = min(median, key=median.get)
        candidates = [{"path": name, "ms": median[name]} if name in median else {"path": name, "error": errors[name]}
                      for name in ["eager", *paths]]
        return best, candidates

    def step(self):
        if self.train:
            self.opt.zero_grad(set_to_none=True)
            F.cross_entropy(self.model(self.x), self.y).backward()
            self.opt.step()
        else:
            with torch.no_grad():
                self.model(self.x)
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def run(self, req):
        seconds, faults = [], []
        for _ in range(int(req["iterations"])):
            f0 = page_faults()
            t0 = time.perf_counter()
            self.step()
            seconds.append(time.perf_counter() - t0)
            faults.append(page_faults() - f0)
        return {"seconds": seconds, "faults": faults}


def main():
    path = torch.__file__
    reply({"ok": True, "torch": torch.__version__, "torch_path": path,
           "debian": path.startswith("/usr/lib/python3/dist-packages/")})
    session = Session()
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            cmd = req["cmd"]
            if cmd == "quit":
                break
            if cmd == "setup":
                out = session.setup(req)
            elif session.model is None:
                raise RuntimeError(f"'{cmd}' before 'setup'")
            elif cmd == "run":
                out = session.run(req)
            elif cmd == "reset_peak":
                reset_peak()
                out = {}
            elif cmd == "peak":
                out = {"peak_bytes": status_bytes("VmHWM:")}
            else:
                raise ValueError(f"unknown command '{cmd}'")
            reply({"ok": True, **out})
        except Exception as e:  # tell the C# side instead of dying
            reply({"ok": False, "error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc()})


if __name__ == "__main__":
    main()
