"""The Mermaid data-flow diagram (nodes from the stage sequence; emitted by render/mermaid.py)."""

from __future__ import annotations

from typing import Any

from vitnotes.analysis.report import Report
from vitnotes.render.context import RenderContext
from vitnotes.render.mermaid import compact_flowchart
from vitnotes.render.stages import stage_sequence
from vitnotes.sections._applies import has_stages
from vitnotes.sections._section import Section


def view(report: Report, ctx: RenderContext) -> dict[str, Any]:
    """A compact Mermaid flowchart: image → what comes before the repeated part → the repeated block
    (or the stages of a hierarchical model) drawn once, left to right, with ×L in its title and the
    residuals dashed → what comes after; each node shows the shape it hands on. Step-by-step shapes
    are the shape table's and the Basic Block section's."""
    rows, container, _ = stage_sequence(report)
    if not rows:
        return {"lines": [], "reason": f"No stage shapes in the report for `{report.model}`."}
    stages = {h.name for h in report.shapes.hierarchy if h.name != "stem"}
    if stages and any(r.module in stages for r in report.shapes.stages):  # hierarchical: the stages repeat
        rows = [(r, False) for r in report.shapes.stages]  # one stage's blocks are the Basic Block's
        outer = [(k, r) for k, (r, _) in enumerate(rows) if r.module not in stages]
        split = max(k for k, (r, _) in enumerate(rows) if r.module in stages)
        group = _stage_group(report, [r for r, _ in rows if r.module in stages])
    elif container is not None:
        outer = [(k, r) for k, (r, inside) in enumerate(rows) if not inside and r is not container]
        split = next(k for k, (r, _) in enumerate(rows) if r is container)
        group = _block_group(report, container, [r for r, inside in rows if inside])
    else:
        outer, split, group = list(enumerate(r for r, _ in rows)), len(rows), None
    at = sum(1 for k, _ in outer if k < split)
    outer = [r for _, r in outer]
    if group is None:
        before, after = _pairs(outer), []
    else:  # what happens before the repeated part, the part, what happens after it: three rows in all
        before, after = _joined(outer[:at]), _joined(outer[at:])
    chain = before + after
    if group is not None:
        group["after"] = len(before) - 1
    return {"lines": compact_flowchart(chain, group), "reason": ""}


def _pairs(rows) -> list[dict[str, Any]]:
    """Consecutive outer steps two to a node (the shape table lists each one)."""
    out = []
    for k in range(0, len(rows), 2):
        part = rows[k:k + 2]
        out.append({"label": " → ".join(_short_stage(r.stage) for r in part), "shape": part[-1].shape})
    return out


def _joined(rows) -> list[dict[str, Any]]:
    return [{"label": " → ".join(_short_stage(r.stage) for r in rows), "shape": rows[-1].shape}] if rows else []


# Outer steps as a diagram node says them (the shape table keeps the full names).
_NODE = {"patch projection": "patchify", "patch tokens": "flatten", "with prefix tokens": "+ [CLS]",
         "+ position embedding": "+ E_pos", "pooled feature": "pool", "final norm": "LN"}


def _short_stage(stage: str) -> str:
    stage = stage[len("block: "):] if stage.startswith("block: ") else stage
    return _NODE.get(stage, stage)


def _step(report: Report, row) -> str:
    c = report.card
    m = row.module.split(".0.", 1)[-1] if ".0." in row.module else row.module
    if "mlp_tokens" in m or "token_mix" in m:
        return "token-mixing\nMLP"
    if "mlp_channels" in m or "channel_mix" in m:
        return "channel-mixing\nMLP"
    if m.startswith("attn") or ".attn" in m:
        return f"MSA\n{c.num_heads} heads" if c.num_heads else "attention"
    if m.startswith("mlp"):
        return f"MLP\n{c.mlp_hidden}" if c.mlp_hidden else "MLP"
    if "norm" in m:
        return "LN" if "LayerNorm" in row.note or "norm" in m else "norm"
    if m.startswith(("ls", "gamma", "drop")):
        return ""
    return m.split(".")[-1] or _short_stage(row.stage)


def _block_group(report: Report, container, inner) -> dict[str, Any]:
    rows = inner or [r for r in report.shapes.block]
    steps: list[str] = []
    for r in rows:
        if r.stage.endswith(("block input", "block output")):
            continue
        label = _step(report, r)
        if steps and steps[-1] in ("LN", "norm") and label not in ("", "+", "LN", "norm"):
            steps[-1] = f"{steps[-1]} → {label}"  # pre-norm: the norm and what it feeds share a node
        elif label and (not steps or steps[-1] != label and not steps[-1].endswith(label)):
            steps.append(label)
        if r.residual:
            steps.append("+")
    residuals, prev = [], -1
    for k, step in enumerate(steps):
        if step == "+":
            residuals.append((prev, k))
            prev = k
    title = container.stage if "×" in container.stage else f"{report.card.depth or ''} × block".strip()
    return {"title": title, "steps": steps[:8], "shape": container.shape,
            "residuals": [(a, b) for a, b in residuals if b < 8]}


def _stage_group(report: Report, inside) -> dict[str, Any]:
    depth = {h.name: h.depth for h in report.shapes.hierarchy}
    steps = [f"stage {k} ×{depth.get(r.module, '?')}\n{r.shape.removeprefix('B×')}" for k, r in enumerate(inside, 1)]
    return {"title": f"{len(inside)} stages", "steps": steps, "shape": inside[-1].shape, "residuals": []}


SECTION = Section(
    name="diagram", order=100, needs=("structure",), view=view,
    anchors=("**模型结构图：**", "模型结构图：", "模型结构图"), applies=has_stages,
    title="diagram",
)
