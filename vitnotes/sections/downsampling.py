"""Down-sampling: where resolution shrinks (stage by stage, or the single patchify step)."""

from __future__ import annotations

from typing import Any

from vitnotes.analysis.report import Report
from vitnotes.render.context import RenderContext
from vitnotes.render.dims import dims
from vitnotes.render.numbers import fmt_int
from vitnotes.sections._applies import knows_downsampling
from vitnotes.sections._section import Section


def view(report: Report, ctx: RenderContext) -> dict[str, Any]:
    d = dims(report)
    hier = [(r.name, r.resolution, fmt_int(r.channels), r.depth, r.downsample) for r in report.shapes.hierarchy]
    c = report.card
    single = bool(not hier and d["P"] and d["grid"])
    return {"hierarchy": hier, "d": d, "single": single, "stem": c.stem or "", "token_px": c.token_stride or d["P"]}


SECTION = Section(
    name="downsampling", order=60, needs=("structure",), view=view,
    anchors=("**降采样:**", "降采样", "Downsampling"), applies=knows_downsampling,
    title="down-sampling",
)
