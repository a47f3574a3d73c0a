"""Parameter counts: total, per top-level group, and one block split by module."""

from __future__ import annotations

from typing import Any

from vitnotes.analysis.report import Report
from vitnotes.render.context import RenderContext
from vitnotes.render.numbers import fmt_int, fmt_params, fmt_pct, fmt_shape
from vitnotes.sections._section import Section


def view(report: Report, ctx: RenderContext) -> dict[str, Any]:
    p = report.params
    total = p.total or 1
    groups = [(g.label, f"`{g.name}`", fmt_params(g.count), fmt_pct(g.count / total), _shapes_text(g.shapes))
              for g in p.groups]
    summed = sum(g.count for g in p.groups)
    if p.groups and summed != p.total:
        groups.append(("not in a group above", "", fmt_params(p.total - summed),
                       fmt_pct((p.total - summed) / total), ""))
    block_total = sum(r.count for r in p.block)
    block = [(r.label, f"`{r.name}`", fmt_params(r.count), fmt_pct(r.count / block_total if block_total else None),
              _shapes_text(r.shapes)) for r in p.block]
    depth = report.card.depth
    # "× L blocks" only where the blocks are identical (a ViT): a ResNet's, Swin's or EfficientNet's
    # first block is far smaller than its last. The check is exact: some group holds L × this block.
    if not (p.block and depth and any(g.count == block_total * depth for g in p.groups)):
        depth = None
    # Module names only: the shape table's Module column already says what each one is; "L ×" marks
    # the group that is L copies of the block.
    by_module = " · ".join((f"{depth} × " if depth and g.count == block_total * depth else "")
                           + f"`{g.name}` {fmt_int(g.count)}"
                           + (f" ({fmt_pct(g.count / total)})" if g.count / total >= 0.0005 else "")
                           for g in p.groups)
    return {
        "block_title": "One block" if depth else f"First block (`{_common_module(p.block)}`; other blocks differ)",
        "total": fmt_params(p.total), "trainable": fmt_params(p.trainable),
        "frozen": p.total - p.trainable, "groups": groups, "by_module": by_module,
        "block": block, "block_total": fmt_params(block_total) if p.block else "",
        "blocks_total": fmt_params(block_total * depth) if p.block and depth else "",
        "blocks_share": fmt_pct(block_total * depth / total) if p.block and depth else "",
        "depth": depth, "deploy": _deploy(report),
    }


def _deploy(report: Report) -> dict[str, Any]:
    """The deployed form's count, when re-parameterising changes it ({} otherwise)."""
    d = report.deploy
    if d is None or d.params == report.params.total:
        return {}
    return {"total": fmt_params(d.params), "fused": ", ".join(d.fused), "device": d.device}


def _common_module(rows) -> str:
    """The module path all ``rows`` share, e.g. ``layer1.0`` for ``layer1.0.conv1``, ``layer1.0.bn1``."""
    parts = [r.name.split(".") for r in rows] or [[]]
    common = []
    for level in zip(*parts):
        if len(set(level)) != 1:
            break
        common.append(level[0])
    if len(rows) == 1 and common:
        common = common[:-1]
    return ".".join(common)


def _shapes_text(shapes: list[list[int]]) -> str:
    return ", ".join(fmt_shape(s) for s in shapes)


SECTION = Section(
    name="params", order=30, needs=("structure", "deploy"), view=view,
    anchors=("**性能指标:**", "性能指标", "Params"),
    title="parameters",
)

