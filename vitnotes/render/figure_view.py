"""The view every figure section shares: which weights and images, or why there is no figure."""

from __future__ import annotations

from typing import Any, Callable, Optional

from vitnotes.analysis.report import Report
from vitnotes.render.context import RenderContext
from vitnotes.render.provenance import shown_path, weights_label
from vitnotes.sections._section import Fact, Section

Extra = Callable[[Report, Any], dict[str, Any]]  # (report, the section's data) -> its own variables
WhyMissing = Callable[[Report, str], Optional[str]]  # (report, "`model` (Family)") -> reason, or None


def figure_view(section: str, extra: Extra, why_missing: Optional[WhyMissing] = None
                ) -> Callable[[Report, RenderContext], dict[str, Any]]:
    """A view builder for the figure section ``section``, whose numbers are ``report.<section>``."""
    def build(report: Report, ctx: RenderContext) -> dict[str, Any]:
        data = getattr(report, section, None)
        images = report.images
        view: dict[str, Any] = {
            "has_data": data is not None, "weights": weights_label(report),
            "random": bool(report.weights and report.weights.kind == "random"),
            "images": "", "reason": "", "weights_error": report.weights_error,
        }
        if images is not None:
            skipped = f"; {len(images.skipped)} skipped ({'; '.join(images.skipped)})" if images.skipped else ""
            source = shown_path(images.source, ctx.vault_root)
            view["images"] = f"{images.count} image{'s' if images.count != 1 else ''} from {source}{skipped}"
        if data is None:
            view["reason"] = figure_missing_reason(report, section, why_missing)
        view.update(extra(report, data) if data is not None else {})
        return view
    return build


def figure_missing_reason(report: Report, section: str, why_missing: Optional[WhyMissing] = None) -> str:
    c = report.card
    who = f"`{report.model}` ({c.family})"
    if report.unavailable.get(section):
        return f"Not computed for {who}: {report.unavailable[section]}"
    reason = why_missing(report, who) if why_missing is not None else None
    return reason or f"Not computed for {who} in this run."


def no_global_attention(report: Report, who: str) -> Optional[str]:
    """Why the ViT paper's attention maps (distance, rollout) do not exist for this model, if so."""
    c = report.card
    if not (c.num_heads and c.patch_size):
        return (f"{who} has no single global self-attention over one patch grid, so the ViT paper's "
                "attention maps are not defined for it.")
    return None


# The ViT paper's §4.5 offers the filters and position embeddings (Fig. 7) and the attention maps (Fig. 6)
# as its evidence on inductive bias: those figures answer the template's "Inductive Bias" question.
INDUCTIVE_BIAS = ("**Inductive Bias (", "Inductive Bias (", "Inductive Bias")


def figure_section(name: str, order: int, needs: tuple[Fact, ...], extra: Extra, drawer: str,
                   why_missing: Optional[WhyMissing] = None, anchors: tuple[str, ...] = (),
                   applies: Optional[Callable[[Report], bool]] = None, title: str = "") -> Section:
    """A figure section: its numbers in ``report.<name>``, its view the shared figure view plus
    ``extra``, its figure ``render.figures.<drawer>``; ``applies``: whether a default note gets it."""
    more: dict[str, Any] = {"applies": applies} if applies is not None else {}
    return Section(name=name, order=order, needs=needs, view=figure_view(name, extra, why_missing),
                   anchors=anchors, draw=drawn_by(drawer), report_field=name, title=title, **more)


def drawn_by(function: str) -> Callable[[Report], Any]:
    """A figure drawer calling ``render.figures.<function>``, imported (numpy, matplotlib) only
    when a figure is drawn, so loading the section registry stays cheap."""
    def draw(report: Report) -> Any:
        from vitnotes.render import figures

        return getattr(figures, function)(report)
    return draw


def rollout_residual(weight: float) -> str:
    """How rollout adds the residual path to a layer's attention A, e.g. "½(A + I)"."""
    return "½(A + I)" if weight == 0.5 else f"(1 − {weight:g})·A + {weight:g}·I"
