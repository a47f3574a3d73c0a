"""Training cost: forward + backward MACs of one step, per image and per ImageNet-1k epoch."""

from __future__ import annotations

from typing import Any

from vitnotes.analysis.report import Report
from vitnotes.render.context import RenderContext
from vitnotes.render.numbers import fmt_int, fmt_macs, si
from vitnotes.sections._section import Section


def view(report: Report, ctx: RenderContext) -> dict[str, Any]:
    t = report.training
    if t is None:
        return {"why": report.unavailable.get("training", "not computed")}
    step = t.forward_macs + t.backward_macs
    n = t.images_per_epoch

    return {
        "why": "", "step": fmt_macs(step), "step_short": si(step, 2),
        "forward": si(t.forward_macs, 2), "backward": si(t.backward_macs, 2),
        "epoch": f"{si(step * n, 2)} MACs",
        "ratio": f"{step / t.forward_macs:.2f}" if t.forward_macs else "—",
        "images": fmt_int(n), "size": "×".join(str(v) for v in report.card.img_size or []),
    }


SECTION = Section(
    name="training", order=47, needs=("structure", "training"), view=view,
    anchors=("**性能指标:**", "性能指标"),
)
