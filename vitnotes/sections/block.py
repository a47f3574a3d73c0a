"""The basic block: its steps with shapes, and its parameters."""

from __future__ import annotations

import dataclasses
from typing import Any

from vitnotes.analysis.report import Report
from vitnotes.render.context import RenderContext
from vitnotes.render.dims import dims
from vitnotes.sections._applies import has_block
from vitnotes.sections._section import Section


def view(report: Report, ctx: RenderContext) -> dict[str, Any]:
    """The one place the block's steps are listed (the shape table and the diagram point here);
    its parameter count is said under 性能指标 (params)."""
    d = dims(report)
    rows = _paired(_merged(report.shapes.block))
    if d["D"] and d["h"]:  # the intro says what goes in and out of a transformer block
        rows = [r for r in rows if r.stage not in ("block input", "block output")]
    prefix = _common_prefix([r.module for r in rows])
    cells, previous = [], None
    for r in rows:  # a module named once: the attention's five steps all run in `attn`
        module = r.module[len(prefix):] if r.module != previous else ""
        cells.append((_step(_SHORT.get(r.stage, r.stage), module), r.shape, _SHORT.get(r.note, r.note)))
        previous = r.module
    windowed = any(r.stage.startswith("SW-MSA") for r in report.shapes.block)
    pair = [next((r.module.split(".attn")[0] for r in report.shapes.block if r.stage.startswith(p) and r.module), "")
            for p in ("W-MSA: ", "SW-MSA: ")]
    return {"rows": cells, "d": d, "windowed": windowed, "prefix": prefix.rstrip("."), "pair": pair}


# The analyzer's step names, as short as a table cell in a 700 px column wants them.
_SHORT = {
    "attention matrix softmax(QKᵀ/√d_k)": "softmax(QKᵀ/√d_k)",
    "attention output (proj)": "proj (W^O)",
    "W^O, then residual add": "then residual add",
    "Linear back to D, then residual add": "Linear → D, residual add",
}


def _step(stage: str, module: str) -> str:
    """The step with its module, once: "qkv `attn.qkv`", "norm1" (the name says it)."""
    if not module or module == stage or module.split(".")[-1] == stage:
        return stage
    return f"{stage} `{module}`"


def _common_prefix(modules: list[str]) -> str:
    """``blocks.0.`` for ``blocks.0.norm1``, ``blocks.0.attn.qkv``…: said once above the table."""
    parts = [m.split(".") for m in modules if m]
    common: list[str] = []
    for level in zip(*parts):
        if len(set(level)) != 1 or not level[0].isdigit() and common and common[-1].isdigit():
            break
        common.append(level[0])
    while common and not common[-1].isdigit():
        common.pop()
    return ".".join(common) + "." if common else ""


def _paired(rows):
    """A Swin pair once: the W-MSA block's steps, and only what its shifted-window twin adds or changes
    (the cyclic shift, the masked attention, the reverse shift) as "SW-MSA:" rows where they happen."""
    split = [(r.stage.split(": ", 1) + [""])[:2] for r in rows]
    if not {"W-MSA", "SW-MSA"} <= {kind for kind, _ in split}:
        return rows
    out = [dataclasses.replace(r, stage=name) for r, (kind, name) in zip(rows, split) if kind == "W-MSA"]
    same = {(r.stage, r.shape, r.note) for r in out}
    at = 0
    for r, (kind, name) in zip(rows, split):
        if kind != "SW-MSA":
            continue
        twin = next((i for i, o in enumerate(out) if o.stage == name and i >= at), None)
        if (name, r.shape, r.note) in same and twin is not None:  # as in the W-MSA block: changes go after it
            at = twin + 1
            continue
        note = r.note
        if twin is not None:  # a changed step sits right after its W-MSA row and says only what differs
            at, base = twin + 1, out[twin].note
            note = "as above, and " + r.note[len(base):].lstrip("; ,") if base and r.note.startswith(base) else r.note
        out.insert(at, dataclasses.replace(r, stage=f"SW-MSA: {name}", note=note))
        at += 1
    return out


def _merged(rows):
    """Q, K and V per head share one row: same shape, same note."""
    out: list = []
    for r in rows:
        last = out[-1] if out else None
        if last is not None and last.shape == r.shape and last.note == r.note and r.stage.endswith(" per head"):
            out[-1] = dataclasses.replace(last, stage=last.stage.replace(" per head", "") + ", " + r.stage)
            continue
        out.append(r)
    return out


SECTION = Section(
    name="block", order=70, needs=("structure",), view=view,
    anchors=("**Basic Block:**", "Basic Block"), applies=has_block,
    title="basic block",
)
