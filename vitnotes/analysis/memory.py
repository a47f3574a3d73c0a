"""Memory at batch B from the meta device: weights per dtype, forward peak, training footprint.

Conventions (fp32 activations throughout; what the note states):

* weights: parameter count × bytes per element (fp32 4, bf16 2, int8 1); buffers (BatchNorm
  statistics, position indices) separately, at their own dtype;
* forward peak: the most bytes of op outputs alive at one time during a no-grad forward at batch B
  (the input image included), tracked per storage as tensors are created and freed on meta;
  an op's internal scratch space is not seen;
* inference peak: fp32 weights + buffers + forward peak;
* saved activations: what autograd keeps for backward in one training-mode forward at batch B
  (``training.saved_for_backward``);
* training: fp32 weights + gradients + AdamW's two moment buffers (16 bytes per trainable
  parameter in all, 4 for a frozen one) + buffers + saved activations; no mixed precision, no
  activation checkpointing, no optimizer-step temporaries.

Attention runs as the fused kernel every real device picks (``training.fused_attention``).
"""

from __future__ import annotations

import weakref
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from vitnotes.analysis.report import Memory
from vitnotes.analysis.training import fused_attention, storage_key, weight_storages

DTYPE_BYTES = {"fp32": 4, "bf16": 2, "int8": 1}
ADAMW_STATES = 2  # exp_avg, exp_avg_sq


class LiveBytes(TorchDispatchMode):
    """The peak of bytes held by live op outputs (one count per storage; weights excluded)."""

    def __init__(self, exclude: set[int]):
        super().__init__()
        self.exclude = exclude
        self.live: dict[int, int] = {}
        self.refs: dict[int, int] = {}
        self.current = self.peak = 0

    def track(self, t: torch.Tensor) -> None:
        key = storage_key(t)
        if key in self.exclude:
            return
        if key not in self.live:
            self.live[key] = t.untyped_storage().nbytes()
            self.current += self.live[key]
            self.peak = max(self.peak, self.current)
        self.refs[key] = self.refs.get(key, 0) + 1
        weakref.finalize(t, self._release, key)  # fires when the tensor itself is freed

    def _release(self, key: int) -> None:
        self.refs[key] -= 1
        if not self.refs[key]:
            del self.refs[key]
            self.current -= self.live.pop(key)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor):
                self.track(t)
        return out


def forward_peak_bytes(model: torch.nn.Module, x: torch.Tensor) -> int:
    """Peak live activation bytes of one no-grad forward of ``model`` on ``x``."""
    mode = LiveBytes(weight_storages(model))
    mode.track(x)
    with torch.no_grad(), fused_attention(), mode:
        out: Any = model(x)
    del out
    return mode.peak


def make_memory(model: torch.nn.Module, chw: tuple[int, int, int], batch: int, saved: int) -> Memory:
    """The Memory facts at ``batch``; ``saved`` = saved-activation bytes of a training forward."""
    params = list(model.parameters())
    n = sum(p.numel() for p in params)
    trainable = sum(p.numel() for p in params if p.requires_grad)
    buffers = sum(b.numel() * b.element_size() for b in model.buffers())
    weights = {name: n * size for name, size in DTYPE_BYTES.items()}
    x = torch.empty(batch, *chw, device=params[0].device if params else "meta")
    peak = forward_peak_bytes(model, x)
    state = trainable * 4 * (1 + ADAMW_STATES)  # gradients + AdamW moments, fp32
    return Memory(batch=batch, params=n, weights=weights, buffers=buffers, forward_peak=peak,
                  inference_peak=weights["fp32"] + buffers + peak, saved_activations=saved,
                  training=weights["fp32"] + state + buffers + saved)
