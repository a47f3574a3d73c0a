"""The analyzer: timm model -> Report. The only package that imports torch, and only lazily.

``analyze`` is the entry point; importing this package (or ``report``/``request``) stays cheap.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from typing import Any, Callable, Optional

from vitnotes.analysis.report import Report
from vitnotes.analysis.request import AnalysisRequest

Progress = Optional[Callable[[str], None]]


def analyze(req: AnalysisRequest, progress: Progress = None, on_idle: Optional[Callable[[], None]] = None) -> Report:
    """Profile ``req.model``: the structural pass always, the weight/image pass when asked.

    In a process that has not imported torch yet (a cold `vitnotes fill`), a request that needs
    the real model runs the weight/image pass in a child process (``analysis.worker``) while this
    one does the meta-device structural pass: both pay the torch import, on two cores at once
    instead of one after the other. A warm process (the daemon, the tests) runs both passes here.
    ``on_idle`` is called once while this process would otherwise only wait for the child
    (the fill pipeline imports its figure renderer there).
    """
    if req.needs_weights and "torch" not in sys.modules:
        return _add_speed(_analyze_with_worker(req, progress, on_idle), req, progress)
    from vitnotes.analysis.structure import profile_structure

    report = profile_structure(req, progress=progress)
    add_published_accuracy(report, req)
    if req.needs_weights:
        from vitnotes.analysis.figures_data import add_figure_data

        add_figure_data(report, req, progress=progress)
    return _add_speed(report, req, progress)


def _add_speed(report: Report, req: AnalysisRequest, progress: Progress) -> Report:
    """The opt-in `speed` section: real timed runs, after everything else (never by default)."""
    if "speed" not in req.facts:
        return report
    from vitnotes.analysis.speed import measure_speed

    if progress:
        progress(f"timing {req.model} on {req.speed_device} (batch 1 and {req.speed_batch})")
    report.speed = measure_speed(req.model, req.img_size, req.model_kwargs, device=req.speed_device,
                                 batch=req.speed_batch)
    return report


def add_published_accuracy(report: Report, req: AnalysisRequest) -> None:
    """timm's published ImageNet accuracy of the checkpoint ``req.model`` names (its default tag if none)."""
    from vitnotes.analysis.hub import checkpoint_name
    from vitnotes.analysis.report import PublishedAccuracy
    from vitnotes.data import results

    name = checkpoint_name(req.model)
    size = report.card.img_size[0] if report.card.img_size else None
    row = results.lookup(name, size)
    found: dict[str, Any] = {"img_size": row.img_size, "top1": row.top1, "top5": row.top5} if row else {}
    report.accuracy = PublishedAccuracy(checkpoint=name, found=row is not None, source=results.SOURCE, **found)


def _analyze_with_worker(req: AnalysisRequest, progress: Progress, on_idle) -> Report:
    import json

    from vitnotes.analysis.worker import error_from_json, request_to_json

    child = subprocess.Popen(
        [sys.executable, "-m", "vitnotes.analysis.worker"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    child.stdin.write(request_to_json(req) + "\n")
    child.stdin.flush()  # stdin stays open: its end of file tells the child this process is gone
    # The child's progress lines, relayed as they come; its stdout is read once at the end.
    relay = threading.Thread(target=_relay, args=(child.stderr, progress), daemon=True)
    relay.start()
    try:
        from vitnotes.analysis.structure import profile_structure

        report = profile_structure(req, progress=progress)
        add_published_accuracy(report, req)
        if on_idle is not None:
            on_idle()
        out = child.stdout.read()
        child.wait()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdin.close()
    relay.join(timeout=1)
    try:
        result = json.loads(out)
    except json.JSONDecodeError:
        result = None
    if isinstance(result, dict) and "error" in result:
        raise error_from_json(result)
    if isinstance(result, dict) and "figures" in result:
        figures = dict(result["figures"])
        # Both passes may say why a section is missing: keep this process's reasons too.
        figures["unavailable"] = {**report.unavailable, **(figures.get("unavailable") or {})}
        merged = Report.from_dict({**report.to_dict(), **figures})
        return merged
    # The child died outside the analyzer's own errors (killed, out of memory): do it here.
    from vitnotes.analysis.figures_data import add_figure_data

    add_figure_data(report, req, progress=progress)
    return report


def _relay(stream, progress: Progress) -> None:
    for line in stream:
        if progress and line.strip():
            progress(line.rstrip("\n"))
