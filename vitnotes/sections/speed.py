"""Measured speed on this machine (opt-in: `sections: [speed]` or `vitnotes bench NAME`)."""

from __future__ import annotations

from typing import Any

from vitnotes.analysis.report import Report, Speed, SpeedRun
from vitnotes.render.context import RenderContext
from vitnotes.render.numbers import fmt_ms
from vitnotes.sections._section import Section


def _row(label: str, run: SpeedRun) -> list[str]:
    return [label, str(run.batch), fmt_ms(run.median_ms), f"{run.images_per_s:,.1f}",
            f"{fmt_ms(run.min_ms)} – {fmt_ms(run.max_ms)}", str(run.runs)]


def view(report: Report, ctx: RenderContext) -> dict[str, Any]:
    if report.speed is None:
        return {"why": report.unavailable.get("speed", "not measured")}
    return speed_view(report.speed)


def speed_view(s: Speed) -> dict[str, Any]:
    """The numbers of one measurement, formatted (the note's table and `vitnotes bench`)."""
    rows = [_row(label, run) for label, run in (("Latency", s.latency), ("Throughput", s.throughput)) if run]
    return {"why": "", "form": "deployed (re-parameterised)" if s.deployed else "", "rows": rows,
            "device": s.device, "dtype": s.dtype, "threads": s.threads, "warmup": s.warmup,
            "size": "×".join(str(v) for v in s.img_size or []), "torch": s.torch}


SECTION = Section(
    name="speed", order=49, needs=("structure", "speed"), view=view,
    anchors=("**性能指标:**", "性能指标"), default=False,
)
