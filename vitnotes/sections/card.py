"""The card: the model's family, input and hyper-parameters, totals, the paper's Table 1 row."""

from __future__ import annotations

from typing import Any

from vitnotes.analysis.report import Report
from vitnotes.render.context import RenderContext
from vitnotes.render.dims import dims
from vitnotes.render.numbers import fmt_int, fmt_macs, fmt_params, fmt_shape
from vitnotes.sections._section import Section


def view(report: Report, ctx: RenderContext) -> dict[str, Any]:
    c, d = report.card, dims(report)
    rows = [("Model", f"`{report.model}`"), ("Family (timm class)", c.family)]
    if c.img_size:
        rows.append(("Input", f"B×{c.in_chans}×{fmt_shape(c.img_size)} (C×H×W)"))
    if c.patch_size:
        rows.append(("Patch size P", f"{c.patch_size}×{c.patch_size} px"))
    if c.grid:
        rows.append(("Patch grid", f"{fmt_shape(c.grid)} = {fmt_int(c.num_patches or 0)} patches"))
    if c.num_tokens:
        prefix = ", ".join(c.prefix_tokens) or "none"
        rows.append(("Sequence length", f"{c.num_tokens} tokens ({c.num_patches} patches + {d['k']} prefix: {prefix})"))
    for label, value in (("Width D (embed dim)", c.embed_dim), ("Depth L (blocks)", c.depth),
                         ("Heads h", c.num_heads), ("Head dim d_k = D/h", c.head_dim),
                         ("MLP hidden", c.mlp_hidden)):
        if value:
            rows.append((label, fmt_int(value)))
    if c.pos_embed:
        shape = f" ({fmt_shape(c.pos_embed_shape)})" if c.pos_embed_shape else ""
        rows.append(("Position embedding", c.pos_embed + shape))
    if c.pooling:
        rows.append(("Pooling", _POOLING_SHORT.get(c.pooling, c.pooling)))
    rows.append(("Classifier", c.classifier or (f"{c.num_classes} classes" if c.num_classes else "none (features only)")))
    rows.append(("Parameters", fmt_params(report.params.total)))
    rows.append(("MACs per image", fmt_macs(report.macs.total)))
    paper = []
    if c.paper_row:
        paper = [(str(k), str(v)) for k, v in c.paper_row.items()]
    return {"rows": rows, "paper_rows": paper}


_POOLING_SHORT = {
    "token": "token — the [CLS] output",
    "avg": "avg — global average pooling",
    "max": "max — global max pooling",
    "avgmax": "avgmax — global average and max pooling",
    "map": "map — attention pooling with a learned query",
    "": "none",
}


SECTION = Section(
    name="card", order=10, needs=("structure",), view=view,
    anchors=("[Paper Study]", "re:^# "),
)
