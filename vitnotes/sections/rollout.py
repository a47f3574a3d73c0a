"""Attention rollout: where the [CLS] token looks, on a few of the note's images."""

from __future__ import annotations

from typing import Any

from vitnotes.analysis.report import Report
from vitnotes.render.figure_view import INDUCTIVE_BIAS, figure_section, no_global_attention, rollout_residual
from vitnotes.render.numbers import fmt_shape
from vitnotes.sections._applies import global_attention


def extra(report: Report, data: Any) -> dict[str, Any]:
    return {"grid": fmt_shape(data.grid), "n": len(data.masks), "names": ", ".join(i.name for i in data.images),
            "total": report.images.count if report.images else len(data.masks), "query": data.query,
            "residual": rollout_residual(data.residual_weight),
            "layers": f"all {data.layers} layers" if data.layers else "all layers"}


SECTION = figure_section("rollout", 150, ("forward",), extra, "_rollout", no_global_attention,
                         applies=global_attention, title="rollout", anchors=INDUCTIVE_BIAS)
