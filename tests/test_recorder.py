"""The dispatch recorder: analytic MAC counts per op, fused attention, no double counting, and
timm's published GMACs (the fvcore convention) on the meta device and on real CPU tensors."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from vitnotes.analysis.build import build_model, input_size
from vitnotes.analysis.recorder import record

# huggingface/pytorch-image-models results/benchmark-infer-amp-nchw-pt291-cu130-5090.csv, infer_gmacs
PUBLISHED_GMACS = {
    "vit_tiny_patch16_224": 1.26,
    "vit_small_patch16_224": 4.61,
    "vit_base_patch16_224": 17.58,
    "vit_base_patch32_224": 4.41,
    "vit_large_patch16_224": 61.60,
    "vit_base_patch16_384": 55.54,
    "vit_huge_patch14_224": 167.40,
    "convnext_tiny": 4.47,
    "swin_tiny_patch4_window7_224": 4.51,
}
TOLERANCE = 0.0025


def _macs(module, x) -> int:
    return record(module.eval(), x).total_macs


@pytest.mark.parametrize("device", ["meta", "cpu"])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_is_m_n_k_and_counted_once(device, bias):
    lin = nn.Linear(64, 32, bias=bias, device=device)
    rec = record(lin, torch.randn(1, 10, 64, device=device))
    counted = [o for o in rec.ops if o.macs]
    assert len(counted) == 1, [o.op for o in counted]  # addmm (or mm) once, never addmm + mm
    assert counted[0].macs == 10 * 64 * 32
    assert counted[0].kind == "linear"


def test_conv_matches_analytic_and_module_path():
    net = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(), nn.Conv2d(8, 4, 1))
    rec = record(net, torch.randn(1, 3, 32, 32))
    convs = [o for o in rec.ops if o.kind == "convolution"]
    assert [o.module for o in convs] == ["0", "2"]
    assert convs[0].macs == 16 * 16 * 8 * 3 * 3 * 3
    assert convs[1].macs == 16 * 16 * 4 * 8
    assert convs[0].output == (1, 8, 16, 16)


def test_matmul_and_conv_agree_with_torch_flop_counter():
    """A second method: torch's FlopCounterMode counts FLOPs = 2 × MACs for conv/linear."""
    net = nn.Sequential(nn.Conv2d(3, 16, 4, stride=4), nn.Flatten(), nn.Linear(16 * 8 * 8, 10)).eval()
    x = torch.randn(2, 3, 32, 32)
    with FlopCounterMode(display=False) as fc, torch.no_grad():
        net(x)
    assert _macs(net, x) * 2 == fc.get_total_flops()


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_fused_attention_is_counted(device):
    """QKᵀ + AV, on the CPU fused kernel (no formula in torch) and on meta (decomposed)."""
    b, h, lq, s, e, ev = 2, 3, 5, 7, 8, 8  # ev == e: the CPU flash kernel needs it
    q = torch.randn(b, h, lq, e, device=device)
    k = torch.randn(b, h, s, e, device=device)
    v = torch.randn(b, h, s, ev, device=device)

    class Attention(nn.Module):
        def forward(self, q, k, v):
            return F.scaled_dot_product_attention(q, k, v)

    mod = Attention()
    with torch.no_grad():
        from vitnotes.analysis.recorder import Recorder
        from torch.utils.module_tracker import ModuleTracker

        tracker = ModuleTracker()
        rec = Recorder(tracker, "Attention", {"": "Attention"})
        with tracker, rec:
            mod(q, k, v)
    ops = rec.recording.ops
    total = sum(o.macs for o in ops)
    assert total == b * h * lq * s * e + b * h * lq * s * ev
    assert all(o.kind == "attention matmul" for o in ops if o.macs)
    if device == "cpu":
        assert any("_scaled_dot_product_flash_attention_for_cpu" in o.op for o in ops)


@pytest.mark.parametrize("affine", [True, False])
def test_norms_follow_fvcore(affine):
    x = torch.randn(1, 6, 5, 5)
    ln = nn.LayerNorm(5, elementwise_affine=affine)
    assert _macs(ln, x) == x.numel() * (5 if affine else 4)
    gn = nn.GroupNorm(2, 6, affine=affine)
    assert _macs(gn, x) == x.numel() * (5 if affine else 4)
    bn = nn.BatchNorm2d(6, affine=affine)
    assert _macs(bn, x) == x.numel() * (2 if affine else 1)  # eval-mode batch norm
    assert _macs(nn.ReLU(), x) == 0 and _macs(nn.Softmax(-1), x) == 0


def test_upsample_and_adaptive_pool_follow_fvcore():
    x = torch.randn(1, 2, 4, 4)
    assert _macs(nn.Upsample(scale_factor=2, mode="nearest"), x) == 2 * 8 * 8
    assert _macs(nn.Upsample(scale_factor=2, mode="bilinear"), x) == 4 * 2 * 8 * 8
    assert _macs(nn.AdaptiveAvgPool2d(2), x) == x.numel()


def _close(model_name: str, device: str) -> tuple[float, float]:
    model = build_model(model_name, None, {}, device=device)
    x = torch.zeros(1, *input_size(model), device=device)
    got = record(model, x, keep_ops=False).total_macs / 1e9
    return got, PUBLISHED_GMACS[model_name]


@pytest.mark.parametrize("name", sorted(PUBLISHED_GMACS))
def test_published_gmacs_on_meta(name):
    got, ref = _close(name, "meta")
    assert abs(got - ref) / ref < TOLERANCE, f"{name}: {got:.4f} vs published {ref}"


@pytest.mark.parametrize("name", ["vit_tiny_patch16_224", "convnext_tiny", "swin_tiny_patch4_window7_224"])
def test_published_gmacs_on_cpu(name):
    got, ref = _close(name, "cpu")
    assert abs(got - ref) / ref < TOLERANCE, f"{name}: {got:.4f} vs published {ref}"


def test_meta_and_cpu_traces_count_the_same():
    kwargs = {"embed_dim": 64, "depth": 2, "num_heads": 2}
    totals = []
    for device in ("meta", "cpu"):
        m = build_model("vit_tiny_patch16_224", None, kwargs, device=device)
        totals.append(record(m, torch.zeros(1, 3, 224, 224, device=device)).total_macs)
    assert totals[0] == totals[1]


def test_a_model_ending_in_global_average_pooling_counts_c_h_w_for_it():
    """PyTorch lowers a 1×1 adaptive pool to aten.mean.dim; fvcore counts C·H·W for it."""
    model = build_model("resnet18", None, {}, device="meta")
    rec = record(model, torch.zeros(1, 3, 224, 224, device="meta"))
    pools = [o for o in rec.ops if o.kind == "pooling"]
    assert [(o.op, o.module) for o in pools] == [("aten.mean.dim", "global_pool.pool")]
    assert pools[0].macs == 512 * 7 * 7
    x = torch.randn(2, 6, 5, 4)
    assert _macs(nn.AdaptiveAvgPool2d(1), x) == x.numel()  # the lowering, on a real tensor
    assert _macs(nn.AdaptiveMaxPool2d(1), x) == 0 and _macs(nn.MaxPool2d(2), x) == 0  # fvcore: no max


def _lstm_macs(t, b, i, h, layers, bidirectional):
    """Analytic: per step, sequence and direction the gates are W_ih·x (4H×I) + W_hh·h (4H×H)."""
    dirs = 2 if bidirectional else 1
    total, width = 0, i
    for _ in range(layers):
        total += dirs * t * b * 4 * h * (width + h)
        width = dirs * h
    return total


@pytest.mark.parametrize("bidirectional", [False, True])
def test_lstm_counts_the_analytic_gates_on_meta_and_in_the_fused_cpu_kernel(bidirectional):
    counts = {}
    for device in ("meta", "cpu"):
        lstm = nn.LSTM(8, 4, num_layers=2, batch_first=True, bidirectional=bidirectional, device=device)
        rec = record(lstm, torch.randn(3, 5, 8, device=device))
        counts[device] = rec.total_macs
        assert {o.kind for o in rec.ops if o.macs} == {"recurrent"}
    assert counts["meta"] == counts["cpu"] == _lstm_macs(5, 3, 8, 4, 2, bidirectional)


def test_sequencer_lstm_counts_the_same_on_meta_and_cpu():
    """sequencer2d's BiLSTM2d: decomposed into addmms on meta, one mkldnn_rnn_layer per
    direction on CPU; both must give the same MACs (a tiny config keeps it fast)."""
    kw = dict(layers=(1, 1, 1, 1), embed_dims=(16, 32, 32, 32), hidden_sizes=(8, 16, 16, 16))
    recs = {}
    for device in ("meta", "cpu"):
        model = build_model("sequencer2d_s", None, kw, device=device)
        recs[device] = record(model, torch.zeros(1, 3, 64, 64, device=device))
    assert any("mkldnn_rnn_layer" in o.op for o in recs["cpu"].ops)
    assert recs["meta"].total_macs == recs["cpu"].total_macs
    lstm = {d: sum(o.macs for o in r.ops if o.kind == "recurrent") for d, r in recs.items()}
    # Per block two bidirectional LSTMs (vertical, horizontal), each over all G rows (columns)
    # of G steps, on the block's G×G×C grid (NHWC) with hidden size H.
    grids = [recs["meta"].module_inputs[f"stages.{i}.blocks.0"][0] for i in range(4)]
    assert grids[0] == (1, 9, 9, 16)  # 64 px through the 7×7 patch stem
    analytic = sum(2 * _lstm_macs(g[1], g[2], g[3], h, 1, True) for g, h in zip(grids, (8, 16, 16, 16)))
    assert lstm["meta"] == lstm["cpu"] == analytic


def test_counted_lists_are_the_rule_table():
    from vitnotes.analysis.recorder import COUNTED, NOT_COUNTED, RULES

    assert COUNTED == list(dict.fromkeys(r.text for r in RULES if r.counted and not r.backward))
    assert NOT_COUNTED == list(dict.fromkeys(r.text for r in RULES if not r.counted))
    assert not set(COUNTED) & set(NOT_COUNTED)
    # every op a rule says it does not count really counts 0
    x = torch.randn(1, 4, 6, 6)
    for mod in (nn.GELU(), nn.ReLU(), nn.SiLU(), nn.Softmax(-1), nn.MaxPool2d(2), nn.AvgPool2d(2)):
        assert _macs(mod, x) == 0, mod
