"""Cosine similarity of the learned position embeddings (ViT paper, Fig. 7 center)."""

from __future__ import annotations

from typing import Any, Optional

from vitnotes.analysis.report import Report
from vitnotes.render.figure_view import INDUCTIVE_BIAS, figure_section
from vitnotes.render.numbers import fmt_shape
from vitnotes.sections._applies import learned_pos_table


def extra(report: Report, data: Any) -> dict[str, Any]:
    return {"grid": fmt_shape(data.grid), "n": len(data.similarity)}


def why_missing(report: Report, who: str) -> Optional[str]:
    c = report.card
    if not c.pos_embed_shape or (c.pos_embed or "").lower() == "none":
        return f"{who} has no learned absolute position embedding ({c.pos_embed or 'none'}): nothing to compare."
    return None


SECTION = figure_section("pos_embed", 130, ("weights",), extra, "_pos_embed", why_missing,
                         applies=learned_pos_table, title="position embedding", anchors=INDUCTIVE_BIAS)
