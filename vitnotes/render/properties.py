"""A Report as flat note properties: the numbers a vault compares papers by (Bases, Dataview, `vitnotes table`).

One key per fact, all prefixed ``vn_`` (vitnotes owns exactly the keys in ``PROPERTIES``; a user's
own ``vn_something`` is never touched). Values are plain numbers or short text, never nested (Obsidian
properties have no nested type) and never carry a unit: the unit is in the key (``vn_params_m`` is
millions of parameters; Dataview would read "86M" as 86 minutes). A fact the model does not have
(a ResNet's patch size) has no key at all.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from vitnotes.analysis.report import Report

Value = int | float | str
SIGNIFICANT = 4  # digits kept in millions / billions: 86.57 M params, 17.58 GMACs (timm's tables give 2 decimals)


def significant(x: float, digits: int = SIGNIFICANT) -> float:
    """``x`` rounded to ``digits`` significant digits (0 stays 0)."""
    if x == 0 or not math.isfinite(x):
        return x
    return round(x, digits - 1 - math.floor(math.log10(abs(x))))


@dataclass(frozen=True)
class Property:
    key: str
    type: str  # Obsidian's property type, as in <config>/types.json: "number" or "text"
    label: str  # column heading (the .base displayName, `vitnotes table`)
    get: Callable[[Report], Value | None]


def _checkpoint(report: Report) -> str | None:
    """What the weight-dependent sections ran on; None when nothing was loaded (structure only)."""
    w = report.weights
    if w is None:
        return None
    if w.kind == "random":
        return "random init"
    if w.kind == "file":
        return w.source.replace("\\", "/").rsplit("/", 1)[-1]
    return w.checkpoint or w.hub_id or w.source  # a timm checkpoint, architecture.tag


def _top1(report: Report) -> float | None:
    """timm's published ImageNet-1k top-1 (%) of the checkpoint the model name names (vitnotes/data)."""
    acc = report.accuracy
    return acc.top1 if acc is not None and acc.found else None


def _side(report: Report) -> int | None:
    size = report.card.img_size
    return int(size[0]) if size else None


PROPERTIES: tuple[Property, ...] = (
    Property("vn_model", "text", "Model", lambda r: r.model),
    Property("vn_family", "text", "Family", lambda r: r.card.family or None),
    Property("vn_params_m", "number", "Params (M)", lambda r: significant(r.params.total / 1e6)),
    Property("vn_gmacs", "number", "GMACs", lambda r: significant(r.macs.total / 1e9)),
    Property("vn_img_size", "number", "Input (px)", _side),
    Property("vn_patch_size", "number", "Patch (px)", lambda r: r.card.patch_size),
    Property("vn_tokens", "number", "Tokens", lambda r: r.card.num_tokens),
    Property("vn_depth", "number", "Depth", lambda r: r.card.depth),
    Property("vn_width", "number", "Width", lambda r: r.card.embed_dim),
    Property("vn_heads", "number", "Heads", lambda r: r.card.num_heads),
    Property("vn_checkpoint", "text", "Checkpoint", _checkpoint),
    Property("vn_top1", "number", "Published top-1 (%)", _top1),
)
KEYS: tuple[str, ...] = tuple(p.key for p in PROPERTIES)
TYPES: dict[str, str] = {p.key: p.type for p in PROPERTIES}
LABELS: dict[str, str] = {p.key: p.label for p in PROPERTIES}
SORT_KEY = "vn_gmacs"


def property_values(report: Report) -> dict[str, Value]:
    """The note's ``vn_`` properties for this Report, in ``PROPERTIES`` order, facts it lacks left out."""
    out: dict[str, Value] = {}
    for prop in PROPERTIES:
        value = prop.get(report)
        if value is None or isinstance(value, bool):
            continue
        out[prop.key] = value
    return out
