"""MACs (and FLOPs = 2 × MACs): total, by group and op kind, and how they scale with input size."""

from __future__ import annotations

from typing import Any

from vitnotes.analysis.report import Report
from vitnotes.render.context import RenderContext
from vitnotes.render.numbers import fmt_int, fmt_macs, fmt_pct, si
from vitnotes.render.trace import counting_rules
from vitnotes.sections._section import Section


def view(report: Report, ctx: RenderContext) -> dict[str, Any]:
    m = report.macs
    total = m.total or 1

    def rows(items):
        return [(r.name, si(r.macs, 2), si(2 * r.macs, 2), fmt_pct(r.macs / total)) for r in items]

    scaling: list[tuple[str, ...]] = []
    base = report.scaling[0] if report.scaling else None
    quadratic = any(pt.attention_matmul_macs for pt in report.scaling)  # no attention: no N² columns
    for pt in report.scaling:
        tok = pt.num_tokens
        growth = f"×{pt.macs / base.macs:.2f}" if base and base.macs else "—"
        if not quadratic:
            scaling.append((f"{pt.img_size}×{pt.img_size}", si(pt.macs, 2), growth, f"×{(pt.img_size / base.img_size) ** 2:.2f}"))
            continue
        share = fmt_pct(pt.attention_matmul_macs / pt.macs if pt.macs else None)
        scaling.append((
            f"{pt.img_size}×{pt.img_size}", fmt_int(tok) if tok else "—", si(pt.macs, 2),
            f"{si(pt.attention_matmul_macs, 2)} ({share})", growth,
            f"×{pt.attention_matmul_macs / base.attention_matmul_macs:.2f}" if base and base.attention_matmul_macs else "—",
            f"×{(tok / base.num_tokens) ** 2:.2f}" if base and tok and base.num_tokens else "—",
        ))
    by_op = ", ".join(f"{r.name} {fmt_pct(r.macs / total)}" for r in m.by_op if r.macs)
    return {
        "total": fmt_macs(m.total), "total_macs": fmt_int(m.total), "convention": m.convention,
        "backend": m.backend, "counted": list(m.counted), "not_counted": list(m.not_counted),
        "dispatch_total": fmt_macs(m.dispatch_total) if getattr(m, "dispatch_total", None) else "",
        "by_group": rows(m.by_group), "by_op": rows(m.by_op), "by_op_line": by_op,
        "attention_share": fmt_pct(m.attention_share) if m.attention_share is not None else "",
        "mlp_share": fmt_pct(m.mlp_share) if m.mlp_share is not None else "",
        "scaling": scaling, "scaling_quadratic": quadratic, "activations": fmt_int(m.activations) if m.activations else "",
        "deploy": _deploy(report), "rules": counting_rules(report), "rules_link": ctx.rules_link if ctx is not None else "",
    }


def _deploy(report: Report) -> dict[str, Any]:
    """The deployed form's MACs, when re-parameterising changes them ({} otherwise)."""
    d = report.deploy
    if d is None or d.macs == report.macs.total:
        return {}
    return {"total": fmt_macs(d.macs), "fused": ", ".join(d.fused), "device": d.device,
            "ratio": f"{d.macs / report.macs.total:.2f}" if report.macs.total else "—"}


SECTION = Section(
    name="flops", order=40, needs=("structure", "scaling", "deploy"), view=view,
    anchors=("**性能指标:**", "性能指标", "FLOPs"),
    title="MACs",
)
