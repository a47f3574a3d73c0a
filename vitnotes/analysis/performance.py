"""The meta-device passes beyond params and MACs: deployed form, training step, memory.

Each runs only when a requested section needs its fact (``AnalysisRequest.facts``), on the model
the structural pass already built on meta; a pass that fails leaves a reason in
``Report.unavailable`` instead of failing the note.
"""

from __future__ import annotations

from typing import Callable

import torch

from vitnotes.analysis.build import build_model
from vitnotes.analysis.report import Report
from vitnotes.analysis.request import AnalysisRequest
from vitnotes.errors import first_line


def _on_meta(model: torch.nn.Module) -> bool:
    return all(p.device.type == "meta" for p in model.parameters())


def add_performance(report: Report, req: AnalysisRequest, model: torch.nn.Module,
                    chw: tuple[int, int, int], say: Callable[[str], None]) -> None:
    """Fill ``report.deploy``, ``report.training`` and ``report.memory`` as ``req`` asks."""
    facts = req.facts
    if "deploy" in facts:
        from vitnotes.analysis.deploy import deploy_form

        say(f"re-parameterising {req.model} (deployed form)")
        report.deploy = deploy_form(model, chw, rebuild_cpu=lambda: build_model(
            req.model, req.img_size, req.model_kwargs, device="cpu"))
    if not {"training", "memory"} & facts:
        return
    if not _on_meta(model):
        for name in ("training", "memory"):
            report.unavailable[name] = f"{req.model} does not run on the meta device, where these are computed"
        return
    from vitnotes.analysis.memory import make_memory
    from vitnotes.analysis.training import training_cost

    say(f"one training step of {req.model} on the meta device (batch {req.batch_size})")
    try:
        cost, saved = training_cost(model, chw, batch=req.batch_size)
        report.training = cost
        if "memory" in facts:
            report.memory = make_memory(model, chw, req.batch_size, saved)
    except Exception as exc:  # an op without a meta kernel for its backward
        why = f"the training step failed on the meta device: {first_line(exc)}"
        report.unavailable.setdefault("training", why)
        report.unavailable.setdefault("memory", why)
