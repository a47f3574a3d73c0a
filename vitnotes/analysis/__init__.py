"""The analyzer: timm model -> Report. The only package that imports torch, and only lazily.

``analyze`` is the entry point; importing this package (or ``report``/``request``) stays cheap.
"""

from __future__ import annotations

from typing import Callable, Optional

from vitnotes.analysis.report import Report
from vitnotes.analysis.request import AnalysisRequest

Progress = Optional[Callable[[str], None]]


def analyze(req: AnalysisRequest, progress: Progress = None) -> Report:
    """Profile ``req.model``: the structural pass always, the weight/image pass when asked."""
    from vitnotes.analysis.structure import profile_structure

    report = profile_structure(req, progress=progress)
    if req.needs_weights:
        from vitnotes.analysis.figures_data import add_figure_data

        add_figure_data(report, req, progress=progress)
    return report
