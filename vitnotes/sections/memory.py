"""Memory at batch B: weights per dtype, forward peak, inference peak, training footprint."""

from __future__ import annotations

from typing import Any

from vitnotes.analysis.report import Report
from vitnotes.render.context import RenderContext
from vitnotes.render.numbers import fmt_bytes
from vitnotes.sections._section import Section


def view(report: Report, ctx: RenderContext) -> dict[str, Any]:
    m = report.memory
    if m is None:
        return {"why": report.unavailable.get("memory", "not computed")}
    w = m.weights
    hw = report.card.img_size or []
    return {
        "why": "", "batch": m.batch, "size": "×".join(str(v) for v in hw),
        "weights": f"{fmt_bytes(w['fp32'])} fp32" if "fp32" in w else "",
        "weights_other": ", ".join(f"{fmt_bytes(w[k])} {k}" for k in ("bf16", "int8") if k in w),
        "buffers": fmt_bytes(m.buffers) if m.buffers else "",
        "forward_peak": fmt_bytes(m.forward_peak), "inference_peak": fmt_bytes(m.inference_peak),
        "saved": fmt_bytes(m.saved_activations), "training": fmt_bytes(m.training),
        "training_state": fmt_bytes(w.get("fp32", 0) * 4),
    }


SECTION = Section(
    name="memory", order=45, needs=("structure", "memory"), view=view,
    anchors=("**性能指标:**", "性能指标"),
)
