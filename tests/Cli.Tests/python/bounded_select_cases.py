"""Cases of bench_reference.bounded_select (PyTorch best's bounded choice) on a fake clock: each step advances the clock
by its path's cost, so every trial, drop and budget stop is exact. Prints one JSON object: case -> [best, candidates,
selection seconds]. Run with src/Cli/python on PYTHONPATH (BenchTests does)."""
import json

import bench_reference as br

# Costs in seconds, binary fractions so that every sum is exact.
COST = {"eager": 0.125, "fast": 0.09375, "slow": 0.5}


def run(names, trials, budget_s):
    clock = [0.0]

    def build(name):
        if name == "broken":
            raise RuntimeError("logits differ from eager by 0.16 relative (tolerance 0.001)\nsecond line dropped")
        return name, None if name == "eager" else 2.5e-07

    def step(name):
        clock[0] += COST[name]

    return br.bounded_select(names, build, step, trials, budget_s, clock=lambda: clock[0])


print(json.dumps({
    "drop_and_budget": run(["eager", "fast", "slow", "broken"], 6, 3.0),
    "no_budget": run(["eager", "fast", "slow"], 3, 0.3),
}))
