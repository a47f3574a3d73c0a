"""What a cached trained checkpoint adds to a fill: `pretrained: true` (HF cache, offline) vs random init.

Both fills are cold (`vitnotes fill --no-cache`, a fresh process each) of the same scratch copy of
vault_example's ViT note (every section, 8 images); only `pretrained: true` differs. The checkpoint
(vit_base_patch16_224's state_dict, random values, saved as safetensors) is put into a temporary
HF_HOME by a real huggingface_hub download from the tests' hub stand-in on 127.0.0.1, then every
timed fill runs with HF_HUB_OFFLINE=1. Runs alternate; medians are compared. The difference is the
load cost: resolving timm's pretrained config, the cache lookup, hashing the file (sha256) and the
checked load into the model. Usage:

    python benchmarks/bench_weights.py [--repeat 3] [--model vit_base_patch16_224]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the hub stand-in


def scratch_note(tmp: Path, name: str, model: str, pretrained: bool) -> Path:
    vault = tmp / name
    shutil.copytree(ROOT / "vault_example", vault, ignore=shutil.ignore_patterns(".vitnotes"))
    note = vault / "Papers" / "ViT.md"
    text = note.read_text(encoding="utf-8")
    extra = "\n  pretrained: true" if pretrained else ""
    text = text.replace("  model: vit_base_patch16_224", f"  model: {model}{extra}", 1)
    note.write_text(text, encoding="utf-8")
    return note


def seed_cache(model: str, env: dict) -> int:
    """Download a checkpoint for ``model`` once into env's HF_HOME through the stand-in; its size."""
    from hub_standin import HubStandIn
    from safetensors.torch import save

    from vitnotes.analysis import hub
    from vitnotes.analysis.weights import create_model

    data = save({k: v.contiguous() for k, v in create_model(model, None, {}, 0).state_dict().items()})
    with HubStandIn() as server:
        server.add(hub.resolve(model).repo, "model.safetensors", data)
        code = (f"from vitnotes.analysis import hub; f = hub.fetch(hub.resolve({model!r})); print(f.downloaded)")
        out = subprocess.run([sys.executable, "-c", code], env={**env, "HF_ENDPOINT": server.endpoint},
                             capture_output=True, text=True, check=True)
        assert out.stdout.strip() == "True", out.stdout + out.stderr
    return len(data)


def timed(cmd: list[str], env: dict) -> float:
    start = time.perf_counter()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    took = time.perf_counter() - start
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{out.stdout}{out.stderr}")
    return took


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--model", default="vit_base_patch16_224")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
        env.update(HF_HOME=str(tmp / "hf"), PYTHONPATH=str(ROOT))
        size = seed_cache(args.model, env)
        env["HF_HUB_OFFLINE"] = "1"
        notes = {"random init": scratch_note(tmp, "random", args.model, False),
                 "pretrained (HF cache)": scratch_note(tmp, "trained", args.model, True)}
        times: dict[str, list[float]] = {k: [] for k in notes}
        for _ in range(args.repeat):
            for label, note in notes.items():
                cmd = [sys.executable, "-m", "vitnotes", "fill", "--no-cache", "-q", str(note)]
                times[label].append(timed(cmd, env))
        text = (notes["pretrained (HF cache)"]).read_text(encoding="utf-8")
        assert "random init" not in text.split("vitnotes:begin attention_distance")[1][:3000], "not trained weights"
    med = {k: statistics.median(v) for k, v in times.items()}
    base, cached = med["random init"], med["pretrained (HF cache)"]
    print(f"model {args.model}, checkpoint {size / 1e6:.0f} MB, {args.repeat} alternating runs, medians:")
    for label, vals in times.items():
        print(f"  {label:24s} {med[label]:6.2f} s   ({', '.join(f'{v:.2f}' for v in vals)})")
    print(f"  load cost: +{cached - base:.2f} s ({cached / base:.2f}× the random-init fill)")
    print(json.dumps({"model": args.model, "checkpoint_bytes": size, "median_s": med,
                      "load_cost_s": round(cached - base, 3), "ratio": round(cached / base, 3)}))


if __name__ == "__main__":
    main()
