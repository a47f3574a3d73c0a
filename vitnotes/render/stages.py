"""The stage sequence shared by the shape table and the diagram: stage rows, the repeated block, cells."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Optional

from vitnotes.analysis.report import Report, ShapeRow


def stage_sequence(report: Report) -> tuple[list[tuple[Any, bool]], Optional[Any], bool]:
    """The stage rows, each flagged "inside the repeated block", plus the block-stack row.

    The §5 shape list runs image → … → per-block steps → … → logits. If the analyzer listed the
    per-block steps only in ``shapes.block``, they are spliced in after the block-stack row
    (``blocks`` for ``blocks.0.*``), so the shape table and the diagram show them in order.
    Returns (rows, container row or None, whether rows were spliced in).
    """
    stages, block = report.shapes.stages, report.shapes.block
    block_mods = [b.module for b in block if b.module]

    def holds_blocks(row) -> bool:  # "blocks" holds "blocks.0.norm1": the next path part is an index
        prefix = row.module + "."
        return bool(row.module) and any(
            m.startswith(prefix) and m[len(prefix):].split(".")[0].isdigit() for m in block_mods)

    container = next((r for r in stages if holds_blocks(r)), None)
    if container is None:
        return [(r, False) for r in stages], None, False
    prefix = container.module + "."
    flagged = [(r, r is not container and r.module.startswith(prefix)) for r in stages]
    if any(inside for _, inside in flagged):
        return flagged, container, False
    at = stages.index(container) + 1
    spliced = [(replace(b, in_block=True), True) for b in block]
    return flagged[:at] + spliced + flagged[at:], container, True


def stage_label(row: ShapeRow) -> str:
    """A step's name in the shape table: the repeated block's steps read ``block: qkv``."""
    return f"block: {row.stage}" if row.in_block else row.stage


def shape_cells(r: ShapeRow) -> tuple:
    return (stage_label(r), r.shape, f"`{r.module}`" if r.module else "", r.note)
