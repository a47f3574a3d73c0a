"""Patch size: how the image is cut into tokens (ViT-style models)."""

from __future__ import annotations

from typing import Any

from vitnotes.analysis.report import Report
from vitnotes.render.context import RenderContext
from vitnotes.render.dims import dims
from vitnotes.sections._section import Section


def view(report: Report, ctx: RenderContext) -> dict[str, Any]:
    d = dims(report)
    ok = bool(d["P"] and d["grid"])
    reason = "" if ok else (f"`{report.model}` ({report.card.family}) does not cut the image into patches: "
                            "there is no patch size (see the down-sampling section for how resolution shrinks).")
    remainder = bool(ok and d["H"] and (d["H"] % d["P"] or d["W"] % d["P"]))
    return {"ok": ok, "reason": reason, "d": d, "remainder": remainder,
            "prefix": ", ".join(report.card.prefix_tokens)}


SECTION = Section(
    name="patch", order=50, needs=("structure",), view=view,
    anchors=("**Patch Size 是多少", "Patch Size"),
)
