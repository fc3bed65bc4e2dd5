"""Formats the JSON of tests/Benchmarks/Table/run.sh as one markdown table (stdlib only).

Usage: table.py OUT_DIR MODEL... -- reads OUT_DIR/run.txt and OUT_DIR/<model>.<infer|train>.json (and .err, what bench
said on stderr), prints run.txt, the table, the machine lines of each run and the summary. Every ratio is between
rows of one bench run (the same process rounds), never across runs."""
import json
import math
import os
import sys

SIDE_ORDER = ["Torchwright", "Torchwright optimised", "Torchwright bf16-mixed", "Torchwright optimised bf16-mixed", "PyTorch eager", "PyTorch best"]


def f(v, fmt="{:.2f}"):
    return "n/a" if v is None else fmt.format(v)


def load(out, model, mode):
    """(the JSON, what bench said on stderr), or (None, why) when the run failed."""
    path = os.path.join(out, f"{model}.{mode}.json")
    err_path = os.path.join(out, f"{model}.{mode}.err")
    err = open(err_path, encoding="utf-8").read().strip() if os.path.exists(err_path) else ""
    if not os.path.exists(path):
        return None, "not run"
    text = open(path, encoding="utf-8").read()
    try:
        return json.loads(text), err
    except ValueError:
        return None, (err.splitlines()[0] if err else "no JSON written")


def candidates_line(side):
    parts = []
    for c in side.get("candidates", []):
        if "error" in c:
            parts.append(f"{c['path']}: not possible ({c['error']})")
        elif "skipped" in c:
            parts.append(f"{c['path']}: not timed ({c['skipped']})")
        else:
            parts.append(f"{c['path']}: {c['ms']:.1f} ms x{c['trials']}" + (f" (stopped at {c['stopped']})" if "stopped" in c else ""))
    took = side.get("selection_s")
    return f"chose {side['path']} in {f(took, '{:.1f}')} of {side['selection_budget_s']:g} s: " + "; ".join(parts)


def main(out, models):
    run_txt = os.path.join(out, "run.txt")
    if os.path.exists(run_txt):
        print("```")
        print(open(run_txt, encoding="utf-8").read().rstrip())
        print("```")
        print()
    print("| model | mode | side | images/s | / PyTorch eager | / PyTorch best | GFLOP/s | % of measured peak | peak RSS |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    notes, machine, optimised_eager, optimised_best, train_ratios = [], [], {}, {}, {}
    for model in models:
        for mode in ("infer", "train"):
            r, err = load(out, model, mode)
            if r is None:
                if err != "not run":
                    print(f"| {model} | {mode} | failed: {err} | | | | | | |")
                continue
            if err:
                notes.append(f"- {model} {mode}: bench said: " + " / ".join(err.splitlines()))
            sides = sorted(r["sides"], key=lambda s: SIDE_ORDER.index(s["side"]) if s["side"] in SIDE_ORDER else len(SIDE_ORDER))
            ips = {s["side"]: s["images_per_s"] for s in sides}
            eager, best = ips.get("PyTorch eager"), ips.get("PyTorch best")
            for s in sides:
                label = s["side"] + (f" ({s['path']})" if "path" in s else "")
                to_eager = None if eager is None or s["side"] == "PyTorch eager" else s["images_per_s"] / eager
                to_best = None if best is None or s["side"] == "PyTorch best" else s["images_per_s"] / best
                print(f"| {model} | {mode} | {label} | {s['images_per_s']:.2f} | {f(to_eager)} | {f(to_best)} | {s['gflops']:.1f} | "
                      f"{100 * s['fraction_of_measured_peak']:.1f} % | {s['peak_rss_bytes'] / 2**20:,.0f} MiB |")
                if "candidates" in s:
                    notes.append(f"- {model} {mode}: PyTorch best " + candidates_line(s))
            peak = r["peak"]
            machine.append(f"- {model} {mode}: {r['name']} input {'x'.join(map(str, r['input']))}, {r['threads']} threads; "
                           f"measured peak fp32 {peak['measured_fp32_gflops']:.1f} GFLOP/s"
                           + (f", bf16 {peak['measured_bf16_gflops']:.1f} GFLOP/s" if peak.get("measured_bf16_gflops") is not None else "")
                           + f"; {r['engines']['torchwright']} vs {r['engines'].get('pytorch', 'no PyTorch side')}")
            if mode == "infer" and "Torchwright optimised" in ips:
                if eager is not None:
                    optimised_eager[model] = ips["Torchwright optimised"] / eager
                if best is not None:
                    optimised_best[model] = ips["Torchwright optimised"] / best
            if mode == "train" and eager is not None:
                train_ratios[model] = {k: ips[k] / eager for k in ("Torchwright", "Torchwright bf16-mixed") if k in ips}
            isa = ", ".join(r["isa"]) or "none of AVX2, AVX-512, AVX-512 BF16, AMX"
            if not any(line.startswith("ISA:") for line in machine):
                machine.insert(0, f"ISA: {isa} (from /proc/cpuinfo flags)" + (f"; bf16 instructions: {r['bf16_isa']}" if "bf16_isa" in r else ""))
    print()
    print("Ratios are images/s over the named PyTorch row of the same run. % of measured peak: against that run's measured "
          "fp32 matmul peak (bf16-mixed rows too). peak RSS: the side's own high-water mark over its timed iterations.")
    print()
    print("\n".join(machine))
    print()
    if optimised_eager:
        geo = math.exp(sum(math.log(v) for v in optimised_eager.values()) / len(optimised_eager))
        print(f"geometric mean of Torchwright optimised / PyTorch eager (infer) over {len(optimised_eager)} of {len(models)} models: "
              f"{geo:.2f} (" + ", ".join(f"{m} {v:.2f}" for m, v in optimised_eager.items()) + ")")
    if optimised_best:
        print("Torchwright optimised / PyTorch best (infer): " + ", ".join(f"{m} {v:.2f}" for m, v in optimised_best.items())
              + f"; lowest {min(optimised_best.values()):.2f}")
    if train_ratios:
        print("train, over PyTorch eager: " + "; ".join(
            f"{m} " + ", ".join(f"{'fp32' if k == 'Torchwright' else 'bf16-mixed'} {v:.2f}" for k, v in rs.items()) for m, rs in train_ratios.items()))
    if notes:
        print()
        print("\n".join(notes))


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: table.py OUT_DIR MODEL...")
    main(sys.argv[1], sys.argv[2:])
