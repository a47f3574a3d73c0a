"""The basic block: its steps with shapes, and its parameters."""

from __future__ import annotations

from typing import Any

from vitnotes.analysis.report import Report
from vitnotes.render.context import RenderContext
from vitnotes.render.dims import dims
from vitnotes.render.numbers import fmt_params
from vitnotes.render.stages import shape_cells
from vitnotes.sections._section import Section


def view(report: Report, ctx: RenderContext) -> dict[str, Any]:
    rows = [shape_cells(r) for r in report.shapes.block]
    per_block = sum(r.count for r in report.params.block)
    return {"rows": rows, "d": dims(report), "params": fmt_params(per_block) if per_block else ""}


SECTION = Section(
    name="block", order=70, needs=("structure",), view=view,
    anchors=("**Basic Block:**", "Basic Block"),
)
