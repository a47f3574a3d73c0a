"""What the `code` section adds to the structural pass: the same pass with and without it.

One warm process; the two variants alternate so machine load hits both alike, and medians are
compared. The `code` fact costs one traced meta-device forward (``sys.settrace`` on the snippets'
code objects) plus ``inspect`` of a handful of functions. Ratios within one run are what to
compare; absolute seconds depend on the machine. Usage:

    python benchmarks/bench_code.py [--repeat 5] [MODEL ...]
"""

from __future__ import annotations

import argparse
import statistics
import time

from vitnotes.analysis.request import AnalysisRequest
from vitnotes.analysis.structure import profile_structure

MODELS = ["vit_base_patch16_224", "swin_tiny_patch4_window7_224", "resnet50", "convnext_tiny"]
BASE = ("card", "shapes", "params")


def timed(model: str, sections: tuple[str, ...]) -> float:
    start = time.perf_counter()
    profile_structure(AnalysisRequest(model, sections=sections))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("models", nargs="*", default=MODELS)
    args = parser.parse_args()
    print(f"{'model':32} {'structure s':>12} {'+ code s':>10} {'ratio':>7}")
    for model in args.models:
        timed(model, BASE + ("code",))  # warm: imports, timm's model registry, linecache
        base, code = [], []
        for _ in range(args.repeat):
            base.append(timed(model, BASE))
            code.append(timed(model, BASE + ("code",)))
        b, c = statistics.median(base), statistics.median(code)
        print(f"{model:32} {b:12.3f} {c:10.3f} {c / b:7.2f}")


if __name__ == "__main__":
    main()
