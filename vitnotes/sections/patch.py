"""Patch size: how the image is cut into tokens (ViT-style models)."""

from __future__ import annotations

from typing import Any

from vitnotes.analysis.report import Report
from vitnotes.render.context import RenderContext
from vitnotes.render.dims import dims
from vitnotes.sections._applies import has_patches
from vitnotes.sections._section import Section


def view(report: Report, ctx: RenderContext) -> dict[str, Any]:
    d = dims(report)
    ok = bool(d["P"] and d["grid"])
    reason = "" if ok else (f"Not for `{report.model}`: its stem does not cut the image into patches "
                            "(no conv with kernel = stride), so there is no patch size.")
    remainder = bool(ok and d["H"] and (d["H"] % d["P"] or d["W"] % d["P"]))
    c = report.card
    return {"ok": ok, "reason": reason, "d": d, "remainder": remainder,
            "prefix": ", ".join(c.prefix_tokens), "stem": c.stem or "", "hybrid": (c.stem or "").startswith("hybrid"),
            "token_px": c.token_stride or d["P"], "module": c.stem_module}


SECTION = Section(
    name="patch", order=50, needs=("structure",), view=view,
    anchors=("**Patch Size 是多少", "Patch Size"), applies=has_patches,
    title="patch size",
)
