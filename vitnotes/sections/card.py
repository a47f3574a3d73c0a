"""The card: the model's family, input and hyper-parameters, totals, the paper's Table 1 row."""

from __future__ import annotations

from typing import Any

from vitnotes.analysis.report import Report
from vitnotes.render.context import RenderContext
from vitnotes.render.numbers import fmt_int
from vitnotes.sections._section import Section


def view(report: Report, ctx: RenderContext) -> dict[str, Any]:
    """One line: the family and the hyper-parameters no other section states (each fact once:
    patch size, tokens, params and MACs have their own questions in the note)."""
    c = report.card
    parts = [f"`{c.family}`"]
    if c.depth and c.num_heads:
        parts.append(f"L = {c.depth}")
    elif c.depth:
        parts.append(f"{c.depth} blocks" + (f" in {len(report.shapes.hierarchy) - _stem_rows(report)} stages"
                                            if report.shapes.hierarchy else ""))
    for label, value in (("D", c.embed_dim), ("h", c.num_heads)):  # d_k: the MHA and block sections
        if value:
            parts.append(f"{label} = {fmt_int(value)}")
    if c.mlp_hidden:
        parts.append(f"MLP {fmt_int(c.mlp_hidden)}")
    if not c.num_tokens and c.classifier:
        parts.append(f"head {c.classifier}")  # token models say it under the [CLS] question
    paper = ""
    if c.paper_row:
        r = c.paper_row
        paper = f"**{r['name']}** (ViT paper, Table 1)"
    return {"line": ", ".join(parts), "paper": paper}


def _stem_rows(report: Report) -> int:
    return sum(1 for r in report.shapes.hierarchy if r.name == "stem")


SECTION = Section(
    name="card", order=10, needs=("structure",), view=view,
    anchors=("[Paper Study]", "re:^# "),
    title="model card",
)
