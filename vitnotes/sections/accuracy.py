"""The checkpoint's published ImageNet-1k accuracy (timm's results tables), beside params and MACs."""

from __future__ import annotations

from typing import Any

from vitnotes.analysis.report import Report
from vitnotes.render.context import RenderContext
from vitnotes.sections._section import Section


def view(report: Report, ctx: RenderContext) -> dict[str, Any]:
    a = report.accuracy
    if a is None:  # a Report from before this section existed
        return {"known": False}
    w = report.weights
    if w is None or w.checkpoint == a.checkpoint:
        whose = ""
    elif w.kind == "random":
        whose = "random"
    else:
        whose = "other"
    return {"known": True, "found": a.found, "checkpoint": a.checkpoint, "img_size": a.img_size,
            "top1": _pct(a.top1), "top5": _pct(a.top5), "source": a.source, "whose": whose}


def _pct(value: float | None) -> str:
    return f"{value:.1f} %" if value is not None else ""


SECTION = Section(
    name="accuracy", order=36, needs=("structure",), view=view,
    anchors=("**性能指标:**", "性能指标"),
)
