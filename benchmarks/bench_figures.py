"""Cold ViT-B/16 fill with every section and 8 images, against the floor measured in the same run.

The floor is a bare script: import torch and timm, create the model, preprocess the same 8 images
with timm's transform, run one forward. Target: vitnotes ≤ 1.2 × the floor. Every run is a fresh
process (cold: imports, model build, no cache), runs alternate so machine load hits both alike,
and medians are compared. Usage:

    python benchmarks/bench_figures.py [--repeat 3] [--model vit_base_patch16_224]

What is timed as "vitnotes": `vitnotes fill --no-cache` of a scratch copy of vault_example's ViT
note when that command works; otherwise (pipeline not ready) an in-process fill-equivalent — the
analyzer with all sections plus the PNG figures written to disk — and says so. It also times
`vitnotes profile MODEL --sections attention_distance,pos_embed,filters,rollout --num-images 8 --json`.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "vault_example" / "Attachments" / "samples"

FLOOR = """
import sys, torch, timm
from pathlib import Path
from PIL import Image
from timm.data import create_transform, resolve_data_config
m = timm.create_model(sys.argv[1]).eval()
t = create_transform(**resolve_data_config({}, model=m))
paths = sorted(p for p in Path(sys.argv[2]).iterdir() if p.suffix.lower() in ('.jpg', '.png'))[:8]
x = torch.stack([t(Image.open(p).convert('RGB')) for p in paths])
with torch.inference_mode():
    m(x)
"""

FILL_EQUIVALENT = """
import sys
from pathlib import Path
from vitnotes.analysis import analyze
from vitnotes.analysis.request import ALL_SECTIONS, AnalysisRequest
from vitnotes.render.figures import render_figures
req = AnalysisRequest(model=sys.argv[1], images=sys.argv[2], num_images=8, sections=ALL_SECTIONS)
report = analyze(req)
out = Path(sys.argv[3])
(out / 'report.json').write_text(report.to_json(), encoding='utf-8')
for name, data in render_figures(report, ALL_SECTIONS).items():
    (out / f'ViT.{name}.png').write_bytes(data)
"""


def run(cmd: list[str]) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    return time.perf_counter() - start, proc


def scratch_vault(tmp: Path, model: str) -> Path:
    vault = tmp / "vault"
    shutil.copytree(ROOT / "vault_example", vault, ignore=shutil.ignore_patterns(".vitnotes"))
    note = vault / "Papers" / "ViT.md"
    text = note.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^  model: .*$", f"  model: {model}", text, count=1)
    if "  sections:" not in text:  # all sections, explicitly
        text = text.replace("  num_images: 8\n", "  num_images: 8\n  sections: [card, shapes, params, flops, patch, "
                            "downsampling, block, cls, equations, diagram, heads, attention_distance, pos_embed, "
                            "filters, rollout]\n", 1)
    note.write_text(text, encoding="utf-8")
    return note


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--model", default="vit_base_patch16_224")
    args = ap.parse_args()
    py = sys.executable

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        note = scratch_vault(tmp, args.model)
        fill_cmd = [py, "-m", "vitnotes", "fill", "--no-cache", "-q", str(note)]
        _, probe = run(fill_cmd)
        fill_ok = probe.returncode == 0
        if fill_ok:
            label, vit_cmd = "vitnotes fill --no-cache (cold)", fill_cmd
        else:
            why = (probe.stderr.strip().splitlines() or ["?"])[-1][:160]
            print(f"note: `vitnotes fill` is not ready ({why}); timing the fill-equivalent instead")
            out = tmp / "out"
            out.mkdir()
            label = "fill-equivalent (analyze all + PNGs)"
            vit_cmd = [py, "-c", FILL_EQUIVALENT, args.model, str(SAMPLES), str(out)]
        floor_cmd = [py, "-c", FLOOR, args.model, str(SAMPLES)]
        profile_cmd = [py, "-m", "vitnotes", "profile", args.model, "--sections",
                       "attention_distance,pos_embed,filters,rollout", "--images", str(SAMPLES),
                       "--num-images", "8", "--json", "-q"]
        times: dict[str, list[float]] = {"floor": [], label: [], "profile --json (figure sections)": []}
        cmds = {"floor": floor_cmd, label: vit_cmd, "profile --json (figure sections)": profile_cmd}
        for _ in range(args.repeat):
            for name, cmd in cmds.items():
                t, proc = run(cmd)
                if proc.returncode != 0:
                    raise SystemExit(f"{name} failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
                times[name].append(t)

    floor = statistics.median(times["floor"])
    print(f"model {args.model}, 8 images, median of {args.repeat} cold runs each")
    for name, ts in times.items():
        med = statistics.median(ts)
        extra = "" if name == "floor" else f"   {med / floor:5.2f} × floor"
        target = "  (target ≤ 1.20)" if name == label else ""
        print(f"{name:40s} {med:7.2f} s{extra}{target}   runs: {', '.join(f'{t:.2f}' for t in ts)}")


if __name__ == "__main__":
    main()
