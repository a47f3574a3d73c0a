"""One training step on the meta device: forward + backward MACs, and what autograd saves.

The backward pass really runs (on meta: shapes only, nothing computed), under the same counting
rules as the forward (``recorder.RULES``), so the cost is what autograd does, not the "3×
forward" rule of thumb: the image itself needs no gradient, so the first layer computes only its
weight gradient. Saved activations are measured with ``torch.autograd.graph.saved_tensors_hooks``
during that forward: every tensor autograd keeps for backward, counted once per storage, with
parameters and buffers left out (they are weights, counted separately).

Attention runs as the fused kernel every real device picks (``fused_attention``): on meta,
PyTorch would take the math path and keep the N×N attention matrix for backward, which no CPU
or GPU run does (they save Q, K, V, the output and its log-sum-exp).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch
import torch.nn.functional as F

from vitnotes.analysis.recorder import MacCounter
from vitnotes.analysis.report import TrainingCost


def storage_key(t: torch.Tensor) -> int:
    """One id per storage (views share it); works on meta, where data_ptr() is 0 for all."""
    return t.untyped_storage()._cdata


def weight_storages(model: torch.nn.Module) -> set[int]:
    return {storage_key(t) for t in (*model.parameters(), *model.buffers())}


@contextmanager
def saved_for_backward(exclude: set[int]) -> Iterator[dict[int, int]]:
    """Collect storage -> bytes of every tensor autograd saves inside the block."""
    saved: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        key = storage_key(t)
        if key not in exclude:
            saved[key] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        yield saved


@contextmanager
def fused_attention() -> Iterator[None]:
    """Route ``F.scaled_dot_product_attention`` on meta tensors to the fused CPU flash kernel
    (it has a meta kernel and a backward), so what is saved and alive matches a real run."""
    original = F.scaled_dot_product_attention

    def fused(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, **kw):
        same = query.shape[:-2] == key.shape[:-2] == value.shape[:-2] and value.shape[-1] == query.shape[-1]
        if query.device.type != "meta" or kw.get("enable_gqa") or not same:
            return original(query, key, value, attn_mask=attn_mask, dropout_p=dropout_p,
                            is_causal=is_causal, scale=scale, **kw)
        return torch.ops.aten._scaled_dot_product_flash_attention_for_cpu(
            query, key, value, dropout_p, is_causal, attn_mask=attn_mask, scale=scale)[0]

    F.scaled_dot_product_attention = fused  # type: ignore[assignment]  # same call signature, looser annotations
    try:
        yield
    finally:
        F.scaled_dot_product_attention = original



def training_step(model: torch.nn.Module, x: torch.Tensor, input_grad: bool = False) -> tuple[int, int, int]:
    """(forward MACs, backward MACs, saved-activation bytes) of one training step on ``x``.

    The model runs in training mode (batch norm on batch statistics, dropout masks saved) and is
    put back in the mode it had. The loss gradient is a tensor of ones on the output, so the loss
    itself costs nothing. ``input_grad`` also asks for the gradient of ``x`` (an analytic check).
    """
    was_training = model.training
    flags = [(p, p.requires_grad) for p in model.parameters()]
    x = x.detach().requires_grad_(input_grad)
    model.train()
    try:
        for p, _ in flags:
            p.requires_grad_(True)
        with fused_attention(), saved_for_backward(weight_storages(model)) as saved, MacCounter() as fwd:
            out = model(x)
        out = out[0] if isinstance(out, (tuple, list)) else out
        with fused_attention(), MacCounter() as bwd:
            out.backward(torch.ones_like(out))
        return fwd.macs, bwd.macs, sum(saved.values())
    finally:
        model.train(was_training)
        for p, flag in flags:
            p.requires_grad_(flag)
            p.grad = None


def training_cost(model: torch.nn.Module, chw: tuple[int, int, int], batch: int = 2) -> tuple[TrainingCost, int]:
    """The per-image training cost at batch ``batch`` (batch norm needs more than one image),
    and the saved-activation bytes of that batch."""
    device = next((p.device for p in model.parameters()), torch.device("meta"))
    fwd, bwd, saved = training_step(model, torch.empty(batch, *chw, device=device))
    return TrainingCost(forward_macs=fwd // batch, backward_macs=bwd // batch, batch=batch), saved
