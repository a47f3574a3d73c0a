"""Multi-head attention's learnable matrices W^Q, W^K, W^V, W^O, per head and per block."""

from __future__ import annotations

from typing import Any

from vitnotes.analysis.report import Report
from vitnotes.render.context import RenderContext
from vitnotes.render.dims import sqrt_text
from vitnotes.render.numbers import fmt_int, fmt_params, fmt_pct, fmt_shape, si
from vitnotes.sections._applies import has_heads
from vitnotes.sections._section import Section


def view(report: Report, ctx: RenderContext) -> dict[str, Any]:
    a = report.params.attention
    if a is None:
        reason = report.unavailable.get("heads") or (
            f"Not for `{report.model}` ({report.card.family}): no global self-attention with one width and "
            "head count (a CNN, or attention whose "
            "width changes by stage), so there is no one set of W^Q, W^K, W^V, W^O to show.")
        return {"ok": False, "reason": reason}
    per_head = a.wq[0] * a.wq[1]
    qkv_w = 3 * a.num_heads * per_head
    qkv_b = 3 * a.embed_dim if a.qkv_bias else 0
    if getattr(a, "qkv_bias_params", None) is not None:  # EVA/BEiT learn q and v biases only (2·D)
        qkv_b = a.qkv_bias_params
    wo = a.wo[0] * a.wo[1]
    proj_b = a.params_per_block - qkv_w - qkv_b - wo
    depth = report.card.depth
    same = a.wq == a.wk == a.wv
    rows = [("W_i^Q, W_i^K, W_i^V", f"{fmt_shape(a.wq)} each", f"3 × {fmt_params(per_head)}", fmt_params(qkv_w))] if same else [
        ("W_i^Q (query)", fmt_shape(a.wq), fmt_params(per_head), fmt_params(a.num_heads * per_head)),
        ("W_i^K (key)", fmt_shape(a.wk), fmt_params(a.wk[0] * a.wk[1]), fmt_params(a.num_heads * a.wk[0] * a.wk[1])),
        ("W_i^V (value)", fmt_shape(a.wv), fmt_params(a.wv[0] * a.wv[1]), fmt_params(a.num_heads * a.wv[0] * a.wv[1])),
    ]
    rows.append(("W^O (shared)", fmt_shape(a.wo), "—", fmt_params(wo)))
    if qkv_b == 3 * a.embed_dim:
        rows.append(("q, k, v biases", f"3×{a.head_dim}", fmt_int(3 * a.head_dim), fmt_params(qkv_b)))
    elif qkv_b == 2 * a.embed_dim:
        rows.append(("q, v biases (k bias fixed at 0)", f"2×{a.head_dim}", fmt_int(2 * a.head_dim), fmt_params(qkv_b)))
    elif qkv_b:
        rows.append(("q, k, v biases", "—", "—", fmt_params(qkv_b)))
    if proj_b > 0:
        rows.append(("W^O bias (shared)", fmt_int(proj_b), "—", fmt_params(proj_b)))
    rows.append(("**total per block**", "", "", fmt_params(a.params_per_block)))
    if not qkv_b:
        bias_text = "without biases"
    elif qkv_b == 2 * a.embed_dim:
        bias_text = "without a bias; the learned q and v biases are separate parameters (`attn.q_bias`, `attn.v_bias`)"
    else:
        bias_text = "with biases"
    return {"ok": True, "a": a, "rows": rows, "depth": depth, "qkv_out": 3 * a.num_heads * a.head_dim,
            "bias_text": bias_text,
            "all_blocks": si(a.params_per_block * depth, 1) if depth else "",
            "share": fmt_pct(a.params_per_block * depth / report.params.total) if depth and report.params.total else "",
            "sqrt_dk": sqrt_text(a.head_dim), "T": report.card.num_tokens,
            "per_block": si(a.params_per_block, 1)}  # exact counts: the table in the callout


SECTION = Section(
    name="heads", order=110, needs=("structure",), view=view,
    anchors=("MHA和MHSA中的可学习参数", "可学习参数"), applies=has_heads,
    title="attention heads",
)
