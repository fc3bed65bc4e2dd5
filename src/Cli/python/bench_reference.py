"""PyTorch side of `torchwright bench`: the reference network of the same architecture, driven over stdin/stdout.

Started by the CLI as `python3 -u bench_reference.py`. It first prints one JSON line:
{"ok": true, "torch": version, "torch_path": torch.__file__, "debian": whether that is Debian's python3-torch}
or {"ok": false, "error": why} (then exits: no torch). After that it reads one JSON request per line and answers
each with one JSON line ({"ok": false, "error": ...} on failure):

  {"cmd": "setup", "spec": p, "weights": p, "data": p, "mode": "infer"|"train", "threads": n, "device": d,
   "precision": "fp32"|"bf16", "path": "eager"|"select"|a name of PATHS[mode], "trials": k, "budget_s": b}
      builds reference_nets.build(spec), loads the CLI module's weights strictly (the same numbers on both sides),
      loads the tensors "input" and "target"; with bf16 casts the model and the input to bfloat16 (as the C# side
      does: TorchSharp has no autocast, so neither side uses it). A path of PATHS (PyTorch's own fast paths of this
      version for the mode) is built from the loaded model and its logits checked against eager's (a mismatch is an
      error). "select" builds every path and times them round-robin for at most k rounds within b seconds
      (bounded_select) and only replies which is fastest (eager included): the C# side then runs that path in a fresh
      process, so its memory is that path's alone.
      Replies threads, the model's dtype ("fp32"/"bf16"), parameter count, the resident set once set up, "path" (the
      path it runs, or chose), "candidates" (for select, each: "path", "trials" (timed iterations), "ms" (their
      median) when timed, "parity" (max |logit difference| over max |eager logit|) when built, "error" when it could
      not be built or checked, "skipped" when the budget was spent before it was timed, "stopped" when it was timed
      fewer than k times and why) and "selection_s" (the selection's wall time).
  {"cmd": "run", "iterations": k}     k iterations, each timed alone; replies "seconds": [...] and "faults": [...]
                                      (minor + major page faults of each iteration, from getrusage)
  {"cmd": "reset_peak", "heap": b}   starts a measured region (the same /proc/self/clear_refs as PeakMemory.cs); with
                                      heap true, also samples glibc's mallinfo2 every 1 ms (as HeapSampler.cs does)
  {"cmd": "peak"}                     replies "peak_bytes": VmHWM since reset_peak, and with heap sampling
                                      "heap_in_use_bytes" (uordblks + hblkhd) and "heap_held_bytes" (arena + hblkhd):
                                      the largest samples since reset_peak, and "heap_in_use_at_start_bytes" (at it)
  {"cmd": "quit"}

An iteration is what the C# side does: infer = eval-mode forward under no_grad; train = train-mode forward,
cross-entropy against "target", backward, SGD step (lr 0.01, momentum 0.9), gradients set to None between steps.
"""
import ctypes
import json
import resource
import sys
import threading
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


class _MallInfo2(ctypes.Structure):
    # glibc's struct mallinfo2: ten size_t fields, in this order.
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]


class HeapSampler:
    """Peak in-use and held bytes of glibc's malloc, sampled every PERIOD_S by a thread (HeapSampler.cs's twin).
    PyTorch's ops release the GIL while they run, so the thread samples during them."""
    PERIOD_S = 0.001

    def __init__(self):
        libc = ctypes.CDLL("libc.so.6")
        self._mallinfo2 = libc.mallinfo2  # AttributeError before glibc 2.33: the caller reports it
        self._mallinfo2.restype = _MallInfo2
        self._lock = threading.Lock()
        self._stop = False
        self.reset()
        threading.Thread(target=self._run, daemon=True).start()

    def _sample(self):
        m = self._mallinfo2()
        in_use, held = m.uordblks + m.hblkhd, m.arena + m.hblkhd
        with self._lock:
            self.in_use = max(self.in_use, in_use)
            self.held = max(self.held, held)

    def _run(self):
        while not self._stop:
            self._sample()
            time.sleep(self.PERIOD_S)

    def reset(self):
        with self._lock:
            self.in_use = self.held = 0
        self._sample()
        with self._lock:
            self.start = self.in_use

    def peak(self):
        self._sample()
        with self._lock:
            return {"heap_in_use_bytes": self.in_use, "heap_held_bytes": self.held, "heap_in_use_at_start_bytes": self.start}


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
# In the order they are tried: the one that won on most zoo networks first, so that a budget spent early (a slow
# model) has still tried it.
PATHS = {
    "infer": {
        "jit.freeze+optimize_for_inference, channels_last": lambda m, x, t: _jit_optimized(m, x, t, channels_last=True),
        "jit.freeze+optimize_for_inference": lambda m, x, t: _jit_optimized(m, x, t, channels_last=False),
        "channels_last": _channels_last,
        "fx conv-bn fusion, channels_last": _fx_fused,
    },
    "train": {
        "channels_last": _channels_last,
    },
}


# A candidate whose fastest of at least DROP_AFTER timed iterations is over DROP_FACTOR x the leader's median is clearly
# slower: it is timed no further. Its minimum against the leader's median keeps one noisy iteration (this machine is
# shared) from dropping a contender.
DROP_FACTOR, DROP_AFTER = 1.5, 2

# Untimed iterations of each candidate before its trials: TorchScript's profiling executor profiles the first run of a
# frozen module and optimises the graph on the second (that one took 10x the others on the tiny bench net).
WARMUP = 2


def _median(v):
    v = sorted(v)
    return v[len(v) // 2] if len(v) % 2 else (v[len(v) // 2 - 1] + v[len(v) // 2]) / 2


def bounded_select(names, build, step, trials, budget_s, clock=time.perf_counter):
    """PyTorch best's choice, bounded so that a slow model (ResTLite's linears on Debian's netlib BLAS: seconds a batch)
    cannot make it run for tens of minutes. names[0] (eager) is built, run WARMUP times untimed and timed once whatever
    the budget: it is the baseline. Every other candidate is built (build(name) -> (handle, parity); raising: it cannot
    take this model, its error is kept) and run WARMUP times untimed, unless the budget would be spent first (a build
    costs about two eager iterations). Then round-robin rounds of one timed step(handle) per candidate, at most
    `trials` rounds; a step that would end past `budget_s` (by the candidate's last iteration) is not started and the
    candidate stops; after each round a candidate clearly slower than the leader (DROP_FACTOR, DROP_AFTER) stops.
    Returns (the lowest median's name, one record per name, the selection's seconds)."""
    start = clock()
    elapsed = lambda: clock() - start
    rec = {n: {"path": n, "trials": 0} for n in names}
    ms, last, handles = {}, {}, {}

    def timed(name):
        t0 = clock()
        step(handles[name])
        return 1000 * (clock() - t0)

    for name in names:
        if name != names[0] and elapsed() + 2 * last[names[0]] / 1000 > budget_s:
            rec[name]["skipped"] = (f"not built: {elapsed():.1f} s of the {budget_s:g} s selection budget were spent "
                                    f"and a build costs about two eager iterations ({last[names[0]]:.1f} ms each)")
            continue
        try:
            handles[name], parity = build(name)
        except Exception as e:  # a path this model cannot take: say why, keep the others
            first = str(e).splitlines()[0] if str(e) else ""
            rec[name]["error"] = f"{type(e).__name__}: {first}"
            continue
        if parity is not None:
            rec[name]["parity"] = parity
        for _ in range(WARMUP):
            last[name] = timed(name)  # untimed: its time only estimates the next iteration's
        ms[name] = []
    ms[names[0]].append(timed(names[0]))
    last[names[0]] = ms[names[0]][-1]
    active = [n for n in names if n in ms]
    for r in range(trials):
        for name in list(active):
            if r == 0 and name == names[0]:
                continue  # eager's first timed iteration ran above
            if elapsed() + last[name] / 1000 > budget_s:
                rec[name]["stopped"] = (f"{len(ms[name])} of {trials} trials: the next (about {last[name]:.1f} ms) would end "
                                        f"past the {budget_s:g} s selection budget ({elapsed():.1f} s spent)")
                active.remove(name)
                continue
            last[name] = timed(name)
            ms[name].append(last[name])
        timed_ones = [n for n in active if ms[n]]
        if not timed_ones or r == trials - 1:
            continue
        leader = min(timed_ones, key=lambda n: _median(ms[n]))
        for name in timed_ones:
            if len(ms[name]) >= DROP_AFTER and min(ms[name]) > DROP_FACTOR * _median(ms[leader]):
                rec[name]["stopped"] = (f"{len(ms[name])} of {trials} trials: clearly slower (its fastest, {min(ms[name]):.1f} ms, "
                                        f"is over {DROP_FACTOR:g}x the median of {leader}, {_median(ms[leader]):.1f} ms)")
                active.remove(name)
    for name, v in ms.items():
        rec[name]["trials"] = len(v)
        if v:
            rec[name]["ms"] = _median(v)
        elif "stopped" in rec[name]:
            rec[name]["skipped"] = rec[name].pop("stopped")
    best = min((n for n in ms if ms[n]), key=lambda n: _median(ms[n]))
    return best, [rec[n] for n in names], elapsed()


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
            path, candidates, selection_s = self.select(model, paths, int(req["trials"]), float(req["budget_s"]))
            self.model = None  # this process only chose; the C# side starts a fresh one on the chosen path
        elif path == "eager":
            self.model = model
        elif path in paths:
            self.model, self.x, _ = self.build(model, path, paths[path], keep_model=False)
        else:
            raise ValueError(f"unknown path {path!r} for {req['mode']} (eager, select, or one of {', '.join(paths)})")
        if self.train and self.model is not None:
            self.opt = torch.optim.SGD(self.model.parameters(), lr=0.01, momentum=0.9)
        return {"threads": torch.get_num_threads(), "dtype": {torch.float32: "fp32", torch.bfloat16: "bf16"}.get(dtype, str(dtype)),
                "params": params, "path": path, "candidates": candidates,
                **({"selection_s": selection_s} if candidates else {}),
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

    def build(self, model, name, build, keep_model=True, expected=None):
        """The path `name` of `model` (of a copy while `keep_model`), checked against eager's logits on the batch
        (`expected`, computed here when not given): (module, input in its layout, relative logit difference)."""
        import copy
        if expected is None:
            expected = self._logits(model, self.x)
        m, x = build(copy.deepcopy(model) if keep_model else model, self.x, self.train)
        diff = (self._logits(m, x) - expected).abs().max().item() / max(expected.abs().max().item(), 1e-12)
        if not diff <= PATH_TOLERANCE[self.dtype]:
            raise RuntimeError(f"logits differ from eager by {diff:.3g} relative (tolerance {PATH_TOLERANCE[self.dtype]:g})")
        return m, x, diff

    def select(self, model, paths, trials, budget_s):
        """Eager and every path of `paths` that builds and matches eager, timed by bounded_select: (the fastest path's
        name, every candidate's record, the selection's wall time in seconds)."""
        import copy
        x0 = self.x  # the batch as loaded: step() leaves self.x in the last path's layout
        expected = self._logits(model, x0)
        opts = {}

        def build(name):
            self.x = x0
            if name == "eager":
                # A training step changes the weights and BatchNorm statistics: the paths built after eager's first
                # step are built from the untouched model, so eager trains a copy of its own.
                m, x, parity = copy.deepcopy(model) if self.train else model, self.x, None
            else:
                m, x, parity = self.build(model, name, paths[name], expected=expected)
            if self.train:
                opts[name] = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
            return (name, m, x), parity

        def step(handle):
            name, self.model, self.x = handle
            self.opt = opts.get(name)
            self.step()

        return bounded_select(["eager", *paths], build, step, trials, budget_s)

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
    heap = None  # a HeapSampler once a reset_peak asks for one (False: this libc has none)
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
                if req.get("heap") and heap is not False:
                    if heap is None:
                        try:
                            heap = HeapSampler()
                        except (OSError, AttributeError):  # no mallinfo2: peaks without heap numbers
                            heap = False
                    if heap:
                        heap.reset()
                out = {}
            elif cmd == "peak":
                out = {"peak_bytes": status_bytes("VmHWM:"), **(heap.peak() if heap else {})}
            else:
                raise ValueError(f"unknown command '{cmd}'")
            reply({"ok": True, **out})
        except Exception as e:  # tell the C# side instead of dying
            reply({"ok": False, "error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc()})


if __name__ == "__main__":
    main()
