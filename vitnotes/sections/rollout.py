"""Attention rollout: where the [CLS] token looks, on a few of the note's images."""

from __future__ import annotations

from typing import Any

from vitnotes.analysis.report import Report
from vitnotes.render.figure_view import drawn_by, figure_view, no_global_attention
from vitnotes.render.numbers import fmt_shape
from vitnotes.sections._section import Section


def extra(report: Report, data: Any) -> dict[str, Any]:
    return {"grid": fmt_shape(data.grid), "n": len(data.masks), "names": ", ".join(i.name for i in data.images)}


SECTION = Section(
    name="rollout", order=150, needs=("forward",),
    view=figure_view("rollout", extra, no_global_attention),
    anchors=(), draw=drawn_by("_rollout"), report_field="rollout",
)
