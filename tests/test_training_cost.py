"""Training cost: forward + backward MACs counted through a real backward pass on meta."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from vitnotes.analysis.build import build_model
from vitnotes.analysis.recorder import record
from vitnotes.analysis.training import training_cost, training_step


def _stack(device: str) -> nn.Module:
    return nn.Sequential(nn.Linear(16, 32), nn.GELU(), nn.Linear(32, 8), nn.Linear(8, 4)).to(device)


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_backward_of_a_linear_stack_is_exactly_twice_the_forward(device):
    x = torch.randn(5, 16, device=device)
    fwd, bwd, _ = training_step(_stack(device), x, input_grad=True)
    assert fwd == 5 * (16 * 32 + 32 * 8 + 8 * 4)
    assert bwd == 2 * fwd  # dX and dW of every layer, each m·n·k


def test_the_image_needs_no_gradient_so_the_first_layer_only_computes_dw():
    x = torch.empty(5, 16, device="meta")
    fwd, bwd, _ = training_step(_stack("meta"), x)
    assert bwd == 2 * fwd - 5 * 16 * 32


@pytest.mark.parametrize("groups", [1, 4])
def test_conv_backward_counts_input_and_weight_gradients(groups):
    """torch's own conv_backward formula ignores groups; ours is the forward's MACs per gradient."""
    conv = nn.Conv2d(8, 8, 3, padding=1, groups=groups, bias=False)
    fwd, bwd, _ = training_step(conv, torch.randn(2, 8, 6, 6), input_grad=True)
    assert fwd == 2 * 8 * (8 // groups) * 9 * 36
    assert bwd == 2 * fwd


def test_fused_attention_backward_on_meta_and_cpu():
    class Attn(nn.Module):
        def forward(self, q):
            return nn.functional.scaled_dot_product_attention(q, q, q)

    got = {}
    for device in ("meta", "cpu"):
        q = torch.randn(2, 3, 5, 8, device=device)
        got[device] = training_step(Attn(), q, input_grad=True)
    fwd = 2 * (2 * 3 * 5 * 5 * 8)  # QKᵀ + AV
    assert got["meta"][:2] == got["cpu"][:2] == (fwd, 5 * fwd // 2)  # recomputed QKᵀ + 4 gradient matmuls


def test_vit_training_step_per_image():
    model = build_model("vit_tiny_patch16_224", None, {"depth": 2}, device="meta")
    cost, saved = training_cost(model, (3, 224, 224), batch=2)
    assert cost.forward_macs == record(model, torch.empty(1, 3, 224, 224, device="meta")).total_macs
    # 2× for every matmul but the patch embedding's input gradient, 2.5× for attention, norms 0×
    assert 2.5 * cost.forward_macs < cost.forward_macs + cost.backward_macs < 3.1 * cost.forward_macs
    assert saved > 0 and not model.training
    assert all(p.grad is None for p in model.parameters())
