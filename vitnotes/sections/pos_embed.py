"""Cosine similarity of the learned position embeddings (ViT paper, Fig. 7 center)."""

from __future__ import annotations

from typing import Any, Optional

from vitnotes.analysis.report import Report
from vitnotes.render.figure_view import drawn_by, figure_view
from vitnotes.render.numbers import fmt_shape
from vitnotes.sections._section import Section


def extra(report: Report, data: Any) -> dict[str, Any]:
    return {"grid": fmt_shape(data.grid), "n": len(data.similarity)}


def why_missing(report: Report, who: str) -> Optional[str]:
    c = report.card
    if not c.pos_embed_shape or (c.pos_embed or "").lower() == "none":
        return f"{who} has no learned absolute position embedding ({c.pos_embed or 'none'}): nothing to compare."
    return None


SECTION = Section(
    name="pos_embed", order=130, needs=("weights",),
    view=figure_view("pos_embed", extra, why_missing),
    anchors=(), draw=drawn_by("_pos_embed"), report_field="pos_embed",
)
