"""timm's published ImageNet-1k accuracy for a checkpoint, from the shipped subset (no torch, no pandas).

``imagenet_results.csv`` beside this module is derived from huggingface/pytorch-image-models
``results/results-imagenet.csv`` (its header comment names the commit and the date it was read;
``contrib/derive_imagenet_results.py`` regenerates it). ``lookup("vit_base_patch16_224")`` finds the
row of timm's default checkpoint for a bare architecture name; ``lookup("arch.tag")`` that tag's rows.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).with_name("imagenet_results.csv")
SOURCE = "timm results/results-imagenet.csv"


@dataclass(frozen=True)
class Accuracy:
    model: str  # architecture.tag as in timm's table
    img_size: int  # evaluation resolution (px)
    top1: float  # %
    top5: float  # %


@functools.lru_cache(maxsize=1)
def _table() -> tuple[dict[str, list[Accuracy]], dict[str, str]]:
    """model -> rows (one per evaluated image size), and architecture -> timm's default tag."""
    rows: dict[str, list[Accuracy]] = {}
    defaults: dict[str, str] = {}
    with open(DATA, newline="", encoding="utf-8") as f:
        body = (line for line in f if not line.startswith("#"))
        for r in csv.DictReader(body):
            acc = Accuracy(model=r["model"], img_size=int(r["img_size"]), top1=float(r["top1"]), top5=float(r["top5"]))
            rows.setdefault(acc.model, []).append(acc)
            if r.get("timm_default") == "1":
                defaults[acc.model.partition(".")[0]] = acc.model
    return rows, defaults


def lookup_all(model: str) -> list[Accuracy]:
    """Every published row for ``model`` (``arch.tag``, or a bare arch = timm's default tag); [] if absent."""
    rows, defaults = _table()
    name = model if "." in model else defaults.get(model, model)
    return list(rows.get(name, []))


def lookup(model: str, img_size: int | None = None) -> Accuracy | None:
    """The published row at ``img_size`` when timm evaluated it there, else its first (lowest-size) row."""
    found = sorted(lookup_all(model), key=lambda a: a.img_size)
    if not found:
        return None
    return next((a for a in found if a.img_size == img_size), found[0])
