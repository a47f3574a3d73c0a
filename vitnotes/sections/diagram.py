"""The Mermaid data-flow diagram (nodes from the stage sequence; emitted by render/mermaid.py)."""

from __future__ import annotations

from typing import Any

from vitnotes.analysis.report import Report
from vitnotes.render.context import RenderContext
from vitnotes.render.mermaid import flowchart
from vitnotes.render.stages import stage_sequence
from vitnotes.sections._section import Section


def view(report: Report, ctx: RenderContext) -> dict[str, Any]:
    """Mermaid flowchart lines: one node per step (consecutive steps with the same shape and note,
    like Q/K/V per head or identical CNN blocks, share a node), the tensor shape on each edge, the
    repeated block in a subgraph with its residual connections dashed. Labels are quoted and
    entity-escaped so Mermaid always parses them."""
    rows, container, _ = stage_sequence(report)
    if not rows:
        return {"lines": [], "reason": f"No stage shapes in the report for `{report.model}`."}
    nodes: list[dict[str, Any]] = []
    for row, inside in rows:
        if row is container:
            continue
        last = nodes[-1] if nodes else None
        if last and last["inside"] == inside and last["shape"] == row.shape and last["note"] == row.note \
                and not row.residual:
            last["names"].append(row.stage)
            continue
        nodes.append({"names": [row.stage], "shape": row.shape, "note": row.note, "inside": inside,
                      "residual": row.residual})
    title = container.stage if container is not None else ""
    return {"lines": flowchart(nodes, title), "reason": ""}


SECTION = Section(
    name="diagram", order=100, needs=("structure",), view=view,
    anchors=("**模型结构图：**", "模型结构图：", "模型结构图"),
)
