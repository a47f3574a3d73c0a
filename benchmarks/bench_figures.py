"""Cold ViT-B/16 fill with every section and 8 images, against the floor measured in the same run.

The floor is a bare script: import torch and timm, create the model, preprocess the same 8 images
with timm's transform, run one forward. Target: vitnotes ≤ 1.2 × the floor. Every run is a fresh
process (cold: imports, model build, no cache), runs alternate so machine load hits both alike,
and medians are compared. Usage:

    python benchmarks/bench_figures.py [--repeat 3] [--model vit_base_patch16_224]

What is timed as "vitnotes": `vitnotes fill --no-cache` of a scratch copy of vault_example's ViT
note (every section, figures written). Also timed: `vitnotes profile MODEL --sections
attention_distance,pos_embed,filters,rollout --num-images 8 --json`, and a notebook-style script
(torchinfo summary + fvcore + attention hooks + one matplotlib plot; needs `pip install torchinfo`),
which vitnotes must not be slower than while producing far more.
"""

from __future__ import annotations

import argparse
import importlib.util
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

NOTEBOOK = """
# What a reader would do by hand in a notebook: summary, FLOPs, attention hooks, one plot.
import sys, torch, timm, matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt
from pathlib import Path
from PIL import Image
from timm.data import create_transform, resolve_data_config
from torchinfo import summary
from fvcore.nn import FlopCountAnalysis
m = timm.create_model(sys.argv[1]).eval()
t = create_transform(**resolve_data_config({}, model=m))
paths = sorted(p for p in Path(sys.argv[2]).iterdir() if p.suffix.lower() in ('.jpg', '.png'))[:8]
x = torch.stack([t(Image.open(p).convert('RGB')) for p in paths])
summary(m, input_size=(1, 3, 224, 224), verbose=0)
timm.layers.set_fused_attn(False)
FlopCountAnalysis(m, x[:1]).unsupported_ops_warnings(False).uncalled_modules_warnings(False).total()
maps = []
hooks = [b.attn.attn_drop.register_forward_hook(lambda mod, i, o: maps.append(o.mean(dim=(0, 2)))) for b in m.blocks]
with torch.inference_mode():
    m(x)
plt.plot([mp.max().item() for mp in maps])
plt.savefig(sys.argv[3])
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
        label = "vitnotes fill --no-cache (cold)"
        vit_cmd = [py, "-m", "vitnotes", "fill", "--no-cache", "-q", str(note)]
        floor_cmd = [py, "-c", FLOOR, args.model, str(SAMPLES)]
        profile_cmd = [py, "-m", "vitnotes", "profile", args.model, "--sections",
                       "attention_distance,pos_embed,filters,rollout", "--images", str(SAMPLES),
                       "--num-images", "8", "--json", "-q"]
        cmds = {"floor": floor_cmd, label: vit_cmd, "profile --json (figure sections)": profile_cmd}
        if importlib.util.find_spec("torchinfo"):
            cmds["notebook-style script"] = [py, "-c", NOTEBOOK, args.model, str(SAMPLES), str(tmp / "nb.png")]
        else:
            print("note: torchinfo is not installed (pip install torchinfo): the notebook-style row is skipped")
        times: dict[str, list[float]] = {name: [] for name in cmds}
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
