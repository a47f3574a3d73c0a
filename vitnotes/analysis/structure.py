"""The structural pass: one meta-device forward under the recorder -> card, params, MACs, shapes.

Everything comes from that single recording plus the module tree, so no weights are allocated
(a ViT-22B-sized config profiles on a laptop) and every number is computed, never looked up.
Shapes are recorded at batch 1 and rendered with a symbolic batch ``B``. The pieces live in their
own modules: ``symbolic`` (batch symbols), ``topology`` (where blocks and stages are), ``card``,
``params``, ``macs``, ``shapes`` and ``scaling``.
"""

from __future__ import annotations

from typing import Callable, Optional

import torch

from vitnotes.analysis.build import build_model, input_size
from vitnotes.analysis.card import make_card
from vitnotes.analysis.code import code_facts
from vitnotes.analysis.macs import make_macs
from vitnotes.analysis.params import make_params
from vitnotes.analysis.recorder import record
from vitnotes.analysis.report import MacRow, Report
from vitnotes.analysis.request import AnalysisRequest
from vitnotes.analysis.scaling import make_scaling
from vitnotes.analysis.shapes import make_shapes
from vitnotes.analysis.symbolic import Symbolic
from vitnotes.analysis.topology import first_block
from vitnotes.errors import ModelError, first_line

Progress = Optional[Callable[[str], None]]


def profile_structure(req: AnalysisRequest, progress: Progress = None) -> Report:
    """The structural sections of a Report for ``req`` (no weights, no images)."""
    say = progress or (lambda msg: None)
    say(f"building {req.model} on the meta device")
    model = build_model(req.model, req.img_size, req.model_kwargs, device="meta")
    chw = input_size(model)
    say(f"tracing one forward of {req.model} at {chw[1]}×{chw[2]}")
    x = torch.empty(1, *chw, device="meta")
    try:
        rec = record(model, x)
        rec2 = record(model, torch.empty(2, *chw, device="meta"))  # shapes only: which dims are batch
    except Exception:  # an op without a meta kernel, or a data-dependent shape: use real tensors
        say(f"{req.model} cannot run on the meta device; tracing on CPU with real tensors")
        model = build_model(req.model, req.img_size, req.model_kwargs, device="cpu")
        x = torch.zeros(1, *chw)
        try:
            rec = record(model, x)
        except Exception as exc:
            first = first_line(exc)
            raise ModelError(f"{req.model} fails in a forward at {chw[1]}×{chw[2]}: {first}",
                             "check img_size and model_kwargs") from None
        rec2 = None
    kinds = {n: type(m).__name__ for n, m in model.named_modules()}

    card = make_card(req.model, model, rec, chw)
    params = make_params(model, card)
    macs = make_macs(rec, kinds)
    symbolic = Symbolic(rec, rec2)
    shapes = make_shapes(model, rec, symbolic, card, chw)
    code, unavailable = None, {}
    if "code" in req.facts:
        say(f"reading the forward() code of {req.model}'s own modules")
        try:
            code = code_facts(model, x, rec, symbolic.out, first_block(model))
        except Exception as exc:  # a module layout this reader did not foresee: the other sections stand
            unavailable["code"] = f"reading its code failed ({type(exc).__name__}: {first_line(exc)})"
    report = Report(
        model=req.model, card=card, params=params, macs=macs, shapes=shapes,
        img_size=req.img_size, model_kwargs=dict(req.model_kwargs), versions=versions(req),
        code=code, unavailable=unavailable,
    )
    if {"deploy", "training", "memory"} & req.facts:  # before scaling, which resizes the model
        from vitnotes.analysis.performance import add_performance

        add_performance(report, req, model, chw, say)
    if "flops" in req.sections and req.scaling_sizes:
        report.scaling = make_scaling(req, model, card, say, rec)
    if req.flops_backend == "fvcore":
        from vitnotes.analysis.fvcore_backend import fvcore_macs

        say("cross-checking MACs with fvcore on a real CPU tensor")
        total, by_op = fvcore_macs(req)
        macs.dispatch_total = macs.total
        macs.total = total
        macs.backend = "fvcore"
        macs.by_op = [MacRow(k, v) for k, v in sorted(by_op.items(), key=lambda kv: -kv[1])]
    return report


def versions(req: AnalysisRequest) -> dict[str, str]:
    import timm

    import vitnotes

    out = {"torch": torch.__version__, "timm": timm.__version__, "vitnotes": vitnotes.__version__}
    if req.flops_backend == "fvcore":
        import importlib.metadata as md

        out["fvcore"] = md.version("fvcore")
    return out
