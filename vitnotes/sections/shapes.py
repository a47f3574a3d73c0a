"""The tensor-shape table: image → … → logits, one block op by op, and the full op trace."""

from __future__ import annotations

from typing import Any

from vitnotes.analysis.report import Report
from vitnotes.render.context import RenderContext
from vitnotes.render.numbers import fmt_int, md_table
from vitnotes.render.stages import shape_cells, stage_sequence
from vitnotes.sections._section import Section


def view(report: Report, ctx: RenderContext) -> dict[str, Any]:
    s = report.shapes
    rows, container, _ = stage_sequence(report)
    stages = [shape_cells(r) for r, _ in rows]
    shown = {r.shape for r, _ in rows}
    # No block-stack row to splice after (CNNs, hierarchical models): one block as its own table.
    block = [shape_cells(r) for r in s.block] if container is None and any(r.shape not in shown for r in s.block) else []
    block_name = next((r.module for r in s.block if r.module), "")
    trace = s.trace[: ctx.max_trace_rows]
    trace_rows = [
        (i + 1, f"`{t.module}`" if t.module else "", f"`{t.op}`", ", ".join(t.inputs), t.output,
         fmt_int(t.macs) if t.macs else "")
        for i, t in enumerate(trace)
    ]
    title = f"Full op trace ({fmt_int(len(s.trace))} ops)"
    if len(s.trace) > len(trace):
        title = f"Full op trace ({fmt_int(len(s.trace))} ops; first {fmt_int(len(trace))} shown)"
    trace_table = md_table(("#", "Module", "Op", "Inputs", "Output", "MACs"), trace_rows, "rllllr") if trace_rows else ""
    return {"stages": stages, "block": block, "block_name": block_name, "depth": report.card.depth,
            "trace_title": title, "trace_table": trace_table, "trace_count": len(s.trace)}


SECTION = Section(
    name="shapes", order=20, needs=("structure",), view=view,
    anchors=("**张量变化 (Tensor Shapes", "张量变化 (Tensor Shapes", "张量变化", "Tensor Shapes"),
)
