"""Principal components of the patch-embedding filters (ViT paper, Fig. 7 left)."""

from __future__ import annotations

from typing import Any, Optional

from vitnotes.analysis.report import Report
from vitnotes.render.figure_view import INDUCTIVE_BIAS, figure_section
from vitnotes.render.numbers import fmt_pct
from vitnotes.sections._applies import patch_filters


def extra(report: Report, data: Any) -> dict[str, Any]:
    ev = data.explained_variance
    return {"k": len(data.components), "patch": data.patch_size, "chans": data.in_chans,
            "explained": fmt_pct(sum(ev)) if ev else "",
            "first": ", ".join(fmt_pct(v) for v in ev[:5])}


def why_missing(report: Report, who: str) -> Optional[str]:
    if not report.card.patch_size:
        return f"{who} has no patch-embedding projection E: no embedding filters to show."
    return None


SECTION = figure_section("filters", 140, ("weights",), extra, "_filters", why_missing,
                         applies=patch_filters, title="filters", anchors=INDUCTIVE_BIAS)
