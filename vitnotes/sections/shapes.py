"""The tensor-shape table: image → … → logits, one block op by op, and the full op trace."""

from __future__ import annotations

from typing import Any

from vitnotes.analysis.report import Report
from vitnotes.render.context import RenderContext
from vitnotes.render.numbers import fmt_int
from vitnotes.render.stages import shape_cells, stage_sequence
from vitnotes.sections._section import Section


def view(report: Report, ctx: RenderContext) -> dict[str, Any]:
    """Image → … → logits. The repeated block's steps are listed once: in the Basic Block section
    when the note has it (the block-stack row points there), else spliced in here. The op-level
    trace is the companion note's (``ctx.trace_link``)."""
    s = report.shapes
    rows, container, _ = stage_sequence(report)
    elsewhere = "block" in ctx.sections and bool(s.block)
    stages = []
    for r, inside in rows:
        if inside and elsewhere:
            continue
        step, shape, module, _ = shape_cells(r)  # the notes repeat what the patch, [CLS] and block sections say
        stages.append((f"{step} (steps: Basic Block)" if r is container and elsewhere else step, shape, module))
    shown = {r.shape for r, _ in rows}
    # No block-stack row to splice after (CNNs, hierarchical models): one block as its own table.
    block = []
    if not elsewhere and container is None and any(r.shape not in shown for r in s.block):
        block = [shape_cells(r) for r in s.block]
    block_name = next((r.module for r in s.block if r.module), "")
    return {"stages": stages, "block": block, "block_name": block_name, "depth": report.card.depth,
            "trace_link": ctx.trace_link, "trace_count": fmt_int(len(s.trace))}


SECTION = Section(
    name="shapes", order=20, needs=("structure",), view=view,
    anchors=("**张量变化 (Tensor Shapes", "张量变化 (Tensor Shapes", "张量变化", "Tensor Shapes"),
    title="tensor shapes",
)
