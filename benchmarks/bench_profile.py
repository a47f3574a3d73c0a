"""Benchmark the structural pass: wall time, MACs vs timm's table, and peak RSS per model.

Each model runs in its own subprocess so peak RSS (ru_maxrss) is that model's alone; the
baseline row (``import torch, timm`` only) shows how much of it is just the libraries.
Ratios within one run are what to compare; absolute seconds depend on the machine.

    python benchmarks/bench_profile.py [--fvcore]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import textwrap

CASES = [
    ("vit_base_patch16_224", {}, 17.58),
    ("vit_large_patch16_224", {}, 61.60),
    ("vit_huge_patch14_224", {}, 167.40),
    ("vit_base_patch16_224", {"embed_dim": 6144, "depth": 48, "num_heads": 48}, None),  # ViT-22B-sized
    ("convnext_tiny", {}, 4.47),
    ("swin_tiny_patch4_window7_224", {}, 4.51),
]

CHILD = textwrap.dedent("""
    import json, resource, sys, time
    t0 = time.perf_counter()
    import torch, timm
    t1 = time.perf_counter()
    out = {"import_s": t1 - t0}
    if sys.argv[1] != "--baseline":
        from vitnotes.analysis.request import AnalysisRequest
        from vitnotes.analysis.structure import profile_structure
        sections = ("card", "shapes", "params", "flops") if sys.argv[3] == "scaling" else ("card", "params")
        req = AnalysisRequest(sys.argv[1], model_kwargs=json.loads(sys.argv[2]), sections=sections,
                              flops_backend=sys.argv[4])
        r = profile_structure(req)
        out.update(params=r.params.total, macs=r.macs.total, ops=len(r.shapes.trace))
    out["profile_s"] = time.perf_counter() - t1
    out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))
""")


def run(name: str, kwargs: dict, scaling: bool, backend: str = "dispatch") -> dict:
    args = [sys.executable, "-c", CHILD, name, json.dumps(kwargs), "scaling" if scaling else "-", backend]
    done = subprocess.run(args, capture_output=True, text=True, timeout=900)
    if done.returncode:
        raise SystemExit(f"{name} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fvcore", action="store_true", help="also time the fvcore backend on vit_base (CPU)")
    args = ap.parse_args()

    base = run("--baseline", {}, False)
    print(f"baseline (import torch, timm): {base['import_s']:.2f} s, peak RSS {base['rss_mb']:.0f} MB\n")
    print(f"{'model':44s} {'params':>15s} {'GMACs':>9s} {'vs timm':>8s} {'structure s':>11s} "
          f"{'+scaling s':>10s} {'RSS MB':>7s} {'over base':>9s}")
    for name, kwargs, ref in CASES:
        one = run(name, kwargs, scaling=False)
        full = run(name, kwargs, scaling=True)
        label = name + (" " + ",".join(f"{k}={v}" for k, v in kwargs.items()) if kwargs else "")
        g = one["macs"] / 1e9
        vs = f"{100 * (g - ref) / ref:+.3f}%" if ref else "—"
        rss = max(one["rss_mb"], full["rss_mb"])
        print(f"{label[:44]:44s} {one['params']:>15,d} {g:9.2f} {vs:>8s} {one['profile_s']:11.2f} "
              f"{full['profile_s']:10.2f} {rss:7.0f} {rss - base['rss_mb']:9.0f}")
    if args.fvcore:
        d = run("vit_base_patch16_224", {}, False)
        f = run("vit_base_patch16_224", {}, False, backend="fvcore")
        print(f"\nvit_base_patch16_224 fvcore backend (real CPU tensors): {f['profile_s']:.2f} s vs dispatch "
              f"{d['profile_s']:.2f} s (ratio {f['profile_s'] / d['profile_s']:.1f}×); "
              f"MACs ratio {f['macs'] / d['macs']:.5f}; RSS {f['rss_mb']:.0f} MB vs {d['rss_mb']:.0f} MB")


if __name__ == "__main__":
    main()
