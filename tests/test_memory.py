"""Memory from the meta device, checked against a real CPU run of the same small ViT."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from vitnotes.analysis.build import build_model
from vitnotes.analysis.memory import forward_peak_bytes, make_memory
from vitnotes.analysis.training import saved_for_backward, training_cost, weight_storages

PROBE = Path(__file__).parent / "data" / "memory_probe.py"
SMALL_VIT = ("vit_tiny_patch16_224", {"depth": 4})
BATCH = 32


def _meta_memory(batch: int):
    name, kw = SMALL_VIT
    model = build_model(name, 224, kw, device="meta")
    _, saved = training_cost(model, (3, 224, 224), batch=batch)
    return make_memory(model, (3, 224, 224), batch, saved)


@pytest.fixture(scope="module")
def measured() -> dict:
    """RSS of a real CPU forward / AdamW training step, in a fresh process (see the probe)."""
    name, kw = SMALL_VIT
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536", "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, str(PROBE), name, str(BATCH), "224", json.dumps(kw)],
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_saved_activations_match_a_real_cpu_run(measured):
    mem = _meta_memory(BATCH)
    assert abs(mem.saved_activations - measured["saved"]) / measured["saved"] < 0.10, (mem, measured)


def test_training_memory_matches_a_real_adamw_step(measured):
    """Weights + grads + AdamW moments + saved activations vs RSS after a real step (the input
    image is part of the measurement, so it is added to the prediction)."""
    mem = _meta_memory(BATCH)
    image = BATCH * 3 * 224 * 224 * 4
    assert abs(mem.training + image - measured["training"]) / measured["training"] < 0.10, (mem, measured)


def test_forward_peak_matches_a_real_no_grad_forward(measured):
    mem = _meta_memory(BATCH)
    image = BATCH * 3 * 224 * 224 * 4  # already resident before the measured forward
    assert abs(mem.forward_peak - image - measured["forward_peak"]) / measured["forward_peak"] < 0.10


def test_saved_activations_on_meta_equal_the_same_hooks_on_real_tensors():
    name, kw = SMALL_VIT
    got = {}
    for device in ("meta", "cpu"):
        model = build_model(name, 224, kw, device=device)
        _, got[device] = training_cost(model, (3, 224, 224), batch=2)
    assert got["meta"] == got["cpu"]


def test_weights_per_dtype_and_the_training_convention():
    mem = _meta_memory(4)
    name, kw = SMALL_VIT
    n = sum(p.numel() for p in build_model(name, 224, kw, device="meta").parameters())
    assert mem.params == n
    assert mem.weights == {"fp32": 4 * n, "bf16": 2 * n, "int8": n}
    assert mem.training == 16 * n + mem.buffers + mem.saved_activations
    assert mem.inference_peak == 4 * n + mem.buffers + mem.forward_peak


def test_forward_peak_tracks_frees():
    """A chain of Linears keeps the input, the last output and the one being made alive, no more."""
    net = torch.nn.Sequential(*[torch.nn.Linear(64, 64) for _ in range(10)]).to("meta").eval()
    x = torch.empty(8, 64, device="meta")
    peak = forward_peak_bytes(net, x)
    assert peak == 3 * 8 * 64 * 4


def test_saved_tensors_skip_parameters():
    lin = torch.nn.Linear(16, 8)
    x = torch.randn(4, 16)
    with saved_for_backward(weight_storages(lin)) as saved:
        lin(x)
    assert sum(saved.values()) == x.nbytes  # the input is saved; the weight is not an activation
