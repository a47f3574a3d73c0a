"""Benchmark the speed section itself, and the cost of the meta-device performance passes.

1. Harness overhead: the timed loop around a model that does nothing (``nn.Identity``), per run.
2. Section overhead: wall time of one ``measure_speed`` call (build, re-parameterise, warm-up,
   timed runs) against the time inside its timed runs; what the section costs beyond the
   measurement it reports.
3. Run-to-run spread: ``measure_speed`` repeated ``--repeats`` times on the same model in one
   process; the spread of the reported medians (max/min − 1) is how much to trust one number
   on this machine.
4. Meta passes: the structural pass alone vs with the deploy / training / memory passes (what the
   default fill now pays), each in a fresh process.

Ratios within one run are what to compare; absolute times depend on the machine and its load.

    python benchmarks/bench_speed.py [--repeats 3] [--runs 10]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import textwrap
import time

MODELS = [("vit_tiny_patch16_224", {}), ("resnet18", {}), ("mobileone_s0", {})]
META_MODELS = ["vit_base_patch16_224", "convnext_tiny", "mobileone_s0"]

META_CHILD = textwrap.dedent("""
    import json, sys, time
    import torch, timm
    from vitnotes.analysis.request import AnalysisRequest
    from vitnotes.analysis.structure import profile_structure
    sections = tuple(sys.argv[2].split(","))
    t0 = time.perf_counter()
    profile_structure(AnalysisRequest(sys.argv[1], sections=sections, scaling_sizes=()))
    print(json.dumps({"s": time.perf_counter() - t0}))
""")


def harness_overhead(runs: int = 200) -> float:
    import torch

    from vitnotes.analysis.speed import time_batch

    run = time_batch(torch.nn.Identity(), torch.zeros(1), runs=runs, warmup=10)
    return run.median_ms * 1000  # µs per timed run


def section_overhead(name: str, kwargs: dict, runs: int, batch: int) -> tuple[float, float, object]:
    from vitnotes.analysis.speed import measure_speed

    t0 = time.perf_counter()
    speed = measure_speed(name, None, kwargs, batch=batch, runs=runs, warmup=3)
    total = time.perf_counter() - t0
    timed = runs * (speed.latency.median_ms + speed.throughput.median_ms) / 1000  # ≈ time in timed runs
    return total, timed, speed


def meta_pass(name: str, sections: str) -> float:
    done = subprocess.run([sys.executable, "-c", META_CHILD, name, sections], capture_output=True, text=True,
                          timeout=900)
    if done.returncode:
        raise SystemExit(f"{name} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])["s"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--batch", type=int, default=16)
    args = ap.parse_args()
    import torch

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads\n")
    print(f"harness overhead per timed run (nn.Identity): {harness_overhead():.1f} µs\n")
    print(f"{'model':22s} {'lat ms (median of medians)':>27s} {'spread':>7s} {'thr img/s':>10s} {'spread':>7s} "
          f"{'call s':>7s} {'timed s':>7s} {'overhead':>8s}")
    for name, kwargs in MODELS:
        lat, thr, calls, timed = [], [], [], []
        for _ in range(args.repeats):
            total, inside, s = section_overhead(name, kwargs, args.runs, args.batch)
            lat.append(s.latency.median_ms)
            thr.append(s.throughput.images_per_s)
            calls.append(total)
            timed.append(inside)
        call, inside = statistics.median(calls), statistics.median(timed)
        print(f"{name:22s} {statistics.median(lat):27.2f} {max(lat) / min(lat) - 1:7.1%} "
              f"{statistics.median(thr):10.1f} {max(thr) / min(thr) - 1:7.1%} {call:7.2f} {inside:7.2f} "
              f"{call / inside - 1:8.1%}")
    print(f"\n{'meta passes':22s} {'structure s':>11s} {'+deploy s':>9s} {'+training+memory s':>18s} {'ratio':>6s}")
    for name in META_MODELS:
        base = meta_pass(name, "card,params")
        dep = meta_pass(name, "card,params,flops")
        full = meta_pass(name, "card,params,flops,memory,training")
        print(f"{name:22s} {base:11.2f} {dep:9.2f} {full:18.2f} {full / base:6.2f}")


if __name__ == "__main__":
    main()
