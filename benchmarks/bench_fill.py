"""Cold fill and cached re-fill of vault_example/Papers/ViT.md against `python -c "import torch"`,
then the cached re-fill of a default-sections note for each model family.

All are timed in this one run on a scratch copy of the example vault, so the ratio is what counts
(target: cached re-fill ≤ 0.15 × the torch import, for every family). Usage:

    python benchmarks/bench_fill.py [--repeat 5] [--structural] [--families vit_base_patch16_224,...]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FAMILIES = ("vit_base_patch16_224", "swin_tiny_patch4_window7_224", "convnext_tiny", "resnet50", "mixer_b16_224")


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stdout}{proc.stderr}")
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--structural", action="store_true", help="structural sections only (no figures)")
    ap.add_argument("--families", default=",".join(FAMILIES),
                    help="comma-separated models: a default-sections note each (empty: skip)")
    args = ap.parse_args()
    families = [m for m in args.families.split(",") if m]

    with tempfile.TemporaryDirectory() as tmp:
        vault = Path(tmp) / "vault"
        shutil.copytree(ROOT / "vault_example", vault, ignore=shutil.ignore_patterns(".vitnotes"))
        note = vault / "Papers" / "ViT.md"
        if args.structural:
            (vault / ".vitnotes").mkdir(exist_ok=True)
            (vault / ".vitnotes" / "config.yaml").write_text(
                "sections: [card, shapes, params, flops, patch, downsampling, block, cls, equations, diagram, heads]\n")
            text = note.read_text(encoding="utf-8").replace("  images: Attachments/samples\n  num_images: 8\n", "")
            note.write_text(text, encoding="utf-8")
        fill = [sys.executable, "-m", "vitnotes", "fill", "-q", str(note)]

        torch_import = [timed([sys.executable, "-c", "import torch"]) for _ in range(args.repeat)]
        cold = timed(fill)
        cached = [timed(fill) for _ in range(args.repeat)]
        # a text-only edit outside the regions: still served from the cache
        note.write_text(note.read_text(encoding="utf-8") + "\nA new thought.\n", encoding="utf-8")
        edited = timed(fill)
        per_family = {model: _family(vault, model, args.repeat) for model in families}

    t_torch, t_cached = statistics.median(torch_import), statistics.median(cached)
    print(f"python -c 'import torch'   {t_torch:7.3f} s (median of {args.repeat})")
    print(f"cold fill                  {cold:7.3f} s   {cold / t_torch:6.2f} × import torch")
    print(f"cached re-fill (unchanged) {t_cached:7.3f} s   {t_cached / t_torch:6.2f} × import torch  (target ≤ 0.15)")
    print(f"re-fill after a text edit  {edited:7.3f} s   {edited / t_torch:6.2f} × import torch")
    if per_family:
        print("\ndefault-sections note per family: cold fill, then cached re-fill after a text edit")
    for model, (cold_f, cached_f) in per_family.items():
        verdict = "ok" if cached_f / t_torch <= 0.15 else "OVER TARGET"
        print(f"  {model:30s} cold {cold_f:7.3f} s   cached {cached_f:6.3f} s   "
              f"{cached_f / t_torch:5.2f} × import torch  ({verdict})")


def _family(vault: Path, model: str, repeat: int) -> tuple[float, float]:
    """A note with only the model named (every default section, 4 of the vault's sample photos: not
    the example note's 8, so the cold fill of vit_base_patch16_224 is not served from its cache)."""
    note = vault / "Papers" / f"bench {model}.md"
    note.write_text(f"---\nvitnotes: {{model: {model}, images: Attachments/samples, num_images: 4}}\n---\n"
                    f"# {model}\n", encoding="utf-8")
    fill = [sys.executable, "-m", "vitnotes", "fill", "-q", str(note)]
    cold = timed(fill)
    cached = []
    for i in range(repeat):
        note.write_text(note.read_text(encoding="utf-8") + f"\nthought {i}\n", encoding="utf-8")
        cached.append(timed(fill))
    return cold, statistics.median(cached)


if __name__ == "__main__":
    main()
