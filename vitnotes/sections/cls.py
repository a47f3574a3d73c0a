"""The [CLS] token: whether the model has one, what it costs, how the model pools instead."""

from __future__ import annotations

from typing import Any

from vitnotes.analysis.report import Report
from vitnotes.render.context import RenderContext
from vitnotes.render.dims import dims
from vitnotes.render.numbers import fmt_shape
from vitnotes.sections._applies import has_tokens
from vitnotes.sections._section import Section


def view(report: Report, ctx: RenderContext) -> dict[str, Any]:
    c, d = report.card, dims(report)
    has_cls = "cls" in c.prefix_tokens or any("cls_token" in g.name for g in report.params.groups)
    return {"has_cls": has_cls, "d": d, "prefix": c.prefix_tokens, "pooling": c.pooling or "",
            "classifier": c.classifier or "", "num_classes": c.num_classes, "has_dist": "dist" in c.prefix_tokens,
            "pos_embed_shape": fmt_shape(c.pos_embed_shape) if c.pos_embed_shape else ""}


SECTION = Section(
    name="cls", order=80, needs=("structure",), view=view,
    anchors=("**为什么需要 [CLS] Token", "[CLS] Token"), applies=has_tokens,
    title="[CLS] token",
)
