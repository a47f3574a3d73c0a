"""The deployed (re-parameterised) form: what RepVGG, MobileOne, FastViT, RepViT, LeViT… ship.

``timm.models.reparameterize_model`` fuses parallel branches and BatchNorms into single convs
(or linears). It computes the fused weights from the trained ones, but those are only arithmetic
on tensors, so on the meta device it yields the deployed *structure* for free: the new modules
just have to be created on meta too (timm builds them with a plain ``nn.Conv2d(...)``, so the
call runs under ``torch.device("meta")``). A model whose fusion needs real values falls back to
a random-init CPU copy when it is small enough, and the Report says which device was used.
"""

from __future__ import annotations

from collections import Counter
from typing import Optional

import torch

from vitnotes.analysis.recorder import record
from vitnotes.analysis.report import DeployForm

# What reparameterize_model calls on a child (timm.models._manipulate / _reparam).
FUSE_METHODS = ("fuse", "reparameterize", "switch_to_deploy")
# A CPU fallback allocates the weights: only for models up to this many parameters.
CPU_FALLBACK_MAX_PARAMS = 100_000_000


def fusable_modules(model: torch.nn.Module) -> Counter:
    """Class name -> how many modules below the root ``reparameterize_model`` would fuse."""
    return Counter(type(m).__name__ for name, m in model.named_modules()
                   if name and any(callable(getattr(m, f, None)) for f in FUSE_METHODS))


def _deployed(model: torch.nn.Module, device: str) -> torch.nn.Module:
    from timm.models import reparameterize_model

    with torch.device(device):
        return reparameterize_model(model)  # a deep copy: the training form stays as it is


def deploy_form(model: torch.nn.Module, chw: tuple[int, int, int], rebuild_cpu=None) -> Optional[DeployForm]:
    """Params and MACs (batch 1) of ``model`` after re-parameterisation; None when nothing fuses
    (or a meta-only fusion fails on a model too big to copy to CPU). ``rebuild_cpu`` returns a
    CPU copy of the model for the fallback."""
    fused = fusable_modules(model)
    if not fused:
        return None
    device = "meta"
    try:
        deployed = _deployed(model, "meta")
        macs = record(deployed, torch.empty(1, *chw, device="meta"), keep_ops=False).total_macs
    except Exception:  # a fusion that reads values (``.item()``) cannot run on meta
        n_params = sum(p.numel() for p in model.parameters())
        if rebuild_cpu is None or n_params > CPU_FALLBACK_MAX_PARAMS:
            return None
        device = "cpu"
        deployed = _deployed(rebuild_cpu(), "cpu")
        macs = record(deployed, torch.zeros(1, *chw), keep_ops=False).total_macs
    params = sum(p.numel() for p in deployed.parameters())
    return DeployForm(params=params, macs=macs, device=device,
                      fused=[f"{name}×{n}" if n > 1 else name for name, n in sorted(fused.items())])
