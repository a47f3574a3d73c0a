"""Mean attention distance per layer and head (ViT paper, Fig. 7 right), from one real forward."""

from __future__ import annotations

from typing import Any

from vitnotes.analysis.report import Report
from vitnotes.render.figure_view import figure_section, no_global_attention
from vitnotes.render.numbers import fmt_shape
from vitnotes.sections._applies import global_attention


def extra(report: Report, data: Any) -> dict[str, Any]:
    rows = []
    for layer, heads in enumerate(data.mad_px, start=1):
        if heads:
            rows.append((layer, f"{min(heads):.1f}", f"{sum(heads) / len(heads):.1f}", f"{max(heads):.1f}"))
    flat = [v for heads in data.mad_px for v in heads]
    return {"rows": rows, "uniform": f"{data.uniform_px:.1f}", "summary": data.summary,
            "grid": fmt_shape(data.grid), "patch": data.patch_size, "n": data.num_images,
            "spread": f"{min(flat):.1f}–{max(flat):.1f}" if flat else ""}


SECTION = figure_section(
    "attention_distance", 120, ("forward",), extra, "_distance",
    no_global_attention, anchors=("**特征提取:**", "特征提取", "Inductive Bias (", "Inductive Bias"),
    applies=global_attention, title="attention distance",
)
