"""PyTorch side of `torchwright bench`: the reference network of the same architecture, driven over stdin/stdout.

Started by the CLI as `python3 -u bench_reference.py`. It first prints one JSON line:
{"ok": true, "torch": version, "torch_path": torch.__file__, "debian": whether that is Debian's python3-torch}
or {"ok": false, "error": why} (then exits: no torch). After that it reads one JSON request per line and answers
each with one JSON line ({"ok": false, "error": ...} on failure):

  {"cmd": "setup", "spec": p, "weights": p, "data": p, "mode": "infer"|"train", "threads": n, "device": d,
   "precision": "fp32"|"bf16"}
      builds reference_nets.build(spec), loads the CLI module's weights strictly (the same numbers on both sides),
      loads the tensors "input" and "target"; with bf16 casts the model and the input to bfloat16 (as the C# side
      does: TorchSharp has no autocast, so neither side uses it); replies threads, the model's dtype ("fp32"/"bf16"),
      parameter count and the resident set once set up.
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
        self.model = model.to(self.device, dtype)
        self.x = data["input"].to(self.device, dtype)
        self.y = data["target"].to(self.device)
        self.train = req["mode"] == "train"
        if self.train:
            model.train()
            self.opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        else:
            model.eval()
        got = next(model.parameters()).dtype
        return {"threads": torch.get_num_threads(), "dtype": {torch.float32: "fp32", torch.bfloat16: "bf16"}.get(got, str(got)),
                "params": sum(p.numel() for p in model.parameters()),
                "setup_rss_bytes": status_bytes("VmRSS:")}

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
