"""The ViT paper's Eq. 1–4 with this model's dimensions."""

from __future__ import annotations

from typing import Any

from vitnotes.analysis.report import Report
from vitnotes.render.context import RenderContext
from vitnotes.render.dims import dims, is_vit_like, why_not_vit
from vitnotes.sections._applies import global_attention
from vitnotes.sections._section import Section


def view(report: Report, ctx: RenderContext) -> dict[str, Any]:
    c = report.card
    prefix_terms = []
    for tok in c.prefix_tokens:
        if tok == "cls":
            prefix_terms.append(r"\mathbf{x}_\text{class}")
        elif tok == "dist":
            prefix_terms.append(r"\mathbf{x}_\text{dist}")
        elif tok.startswith("reg"):
            prefix_terms.append(r"\mathbf{x}_\text{reg}^{1..%s}" % (tok.split("×")[-1] if "×" in tok else "r"))
    d = dims(report)
    has_pos = bool(c.pos_embed_shape) and not (c.pos_embed or "").lower().startswith("none")
    return {"ok": is_vit_like(report), "reason": why_not_vit(report), "d": d,
            "prefix_terms": prefix_terms, "pooling": c.pooling or "", "has_pos": has_pos,
            "has_dist": "dist" in c.prefix_tokens,
            "pos_patches_only": has_pos and d["k"] > 0 and d["pos_sym"] == "N"}


SECTION = Section(
    name="equations", order=90, needs=("structure",), view=view,
    anchors=("**核心公式：**", "核心公式"), applies=global_attention,
    title="equations",
)
