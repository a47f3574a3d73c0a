"""Models beyond the plain ViT-B: registers, EVA, BEiT, distilled, CNNs, no-classifier and avg-pool ViTs."""

from __future__ import annotations

import re

import pytest
import timm
import torch

from vitnotes.analysis.request import AnalysisRequest
from vitnotes.analysis.structure import profile_structure
from vitnotes.render.markdown import render_sections

TINY = {"embed_dim": 64, "depth": 2, "num_heads": 2}


def profile(model, size=None, sections=("card", "shapes", "params"), scaling=(224, 384, 512), **kwargs):
    return profile_structure(AnalysisRequest(model, img_size=size, model_kwargs=kwargs, sections=sections,
                                             scaling_sizes=scaling))


def meta(model, **kwargs):
    with torch.device("meta"):
        return timm.create_model(model, **kwargs)


def test_scaling_follows_the_size_even_when_kwargs_set_a_non_square_img_size():
    r = profile("vit_tiny_patch16_224", sections=("card", "flops"), scaling=(64, 96),
                **{"img_size": [64, 48]}, **TINY)
    assert r.card.grid == [4, 3] and r.card.num_tokens == 13
    pts = {p.img_size: p for p in r.scaling}
    assert pts[64].num_tokens == 4 * 4 + 1 and pts[96].num_tokens == 6 * 6 + 1
    # Second method: the square model built at that size directly.
    for size in (64, 96):
        square = profile("vit_tiny_patch16_224", size, sections=("card", "flops"), scaling=(), **TINY)
        assert pts[size].macs == square.macs.total
    assert pts[96].macs > pts[64].macs


def test_identity_head_has_no_logits_row_and_pos_before_prefix_without_embed_class():
    r = profile("vit_base_patch16_224", num_classes=0, reg_tokens=4, no_embed_class=True, **TINY)
    stages = [s.stage for s in r.shapes.stages]
    assert "logits" not in stages
    assert r.shapes.stages[-1].stage == "pooled feature" and r.shapes.stages[-1].shape == "B×64"
    pos, pre = stages.index("+ position embedding"), stages.index("with prefix tokens")
    assert pos < pre  # timm adds E_pos to the 196 patch tokens, then concatenates [CLS] + 4 registers
    assert r.shapes.stages[pos].shape == "B×196×64" and r.shapes.stages[pre].shape == "B×201×64"


def test_avg_pool_vit_lists_no_identity_final_norm():
    r = profile("vit_base_patch16_224", class_token=False, global_pool="avg", **TINY)
    assert isinstance(meta("vit_base_patch16_224", class_token=False, global_pool="avg", **TINY).norm,
                      torch.nn.Identity)
    stages = {s.stage: s for s in r.shapes.stages}
    assert "final norm" not in stages
    assert stages["pooled feature"].note == "mean over patch tokens, then LayerNorm"


def test_eva_q_v_biases_gated_mlp_rope_and_block_stack_shape():
    kw = {"depth": 2}
    r = profile("eva02_tiny_patch14_224", sections=("card", "shapes", "params", "heads"), **kw)
    attn = meta("eva02_tiny_patch14_224", **kw).blocks[0].attn
    a = r.params.attention
    assert a.qkv_bias and a.qkv_bias_params == 2 * 192  # q_bias + v_bias, k has none
    assert a.params_per_block == sum(p.numel() for n, p in attn.named_parameters() if "norm" not in n)
    assert r.card.mlp_hidden == 512  # GluMlp: fc1 192 -> 1024 = 2 x 512 halves, fc2 512 -> 192
    assert "RoPE" in r.card.pos_embed and r.card.pos_embed.startswith("learned absolute")
    stack = next(s for s in r.shapes.stages if s.module == "blocks")
    assert stack.shape == "B×257×192"
    md = render_sections(r, ["heads"])["heads"]
    assert "| q, v biases (k bias fixed at 0) | 2×64 | 128 | 384 |" in md
    assert "| W^O bias (shared) | 192 |" in md


def test_beit_bias_is_not_windowed_but_swin_is():
    beit = profile("beit_base_patch16_224", sections=("card", "params"), **TINY)
    assert beit.card.pos_embed == "relative position bias"
    assert beit.params.attention.qkv_bias_params == 2 * 64
    swin = profile("swin_tiny_patch4_window7_224", sections=("card",), depths=(1, 1, 1, 1))
    assert swin.card.pos_embed == "relative position bias (windowed)"


def test_nested_cnn_blocks_count_blocks_not_stages():
    r = profile("efficientnet_b0", sections=("card", "shapes", "params"))
    net = meta("efficientnet_b0")
    assert r.card.depth == sum(len(stage) for stage in net.blocks) == 16
    assert [h.name for h in r.shapes.hierarchy][-7:] == [f"blocks.{i}" for i in range(7)]
    assert [h.channels for h in r.shapes.hierarchy][-7:] == [16, 24, 40, 80, 112, 192, 320]
    assert r.shapes.block[0].module == "blocks.0.0"
    assert next(g for g in r.params.groups if g.name == "blocks").label == "7 stages, 16 blocks"


def test_distilled_model_says_logits_average_both_heads():
    r = profile("deit_tiny_distilled_patch16_224", sections=("card", "shapes", "params"), **TINY)
    md = render_sections(r, ["cls", "equations", "shapes"])
    assert "head_dist" in md["cls"] and "½(head(z_L^0) + head_dist(z_L^1))" in md["cls"]
    assert r"\mathbf{W}_\text{dist}" in md["equations"]
    logits = next(s for s in r.shapes.stages if s.stage == "logits")
    assert logits.shape == "B×1000" and "head_dist" in logits.note


def test_long_figure_titles_wrap_but_keep_the_weights_line_whole():
    from vitnotes.analysis.report import WeightsInfo
    from vitnotes.render import figures

    r = profile("vit_tiny_patch16_224", sections=("card",), **TINY)
    r.model = "vit_base_patch14_reg4_dinov2_with_a_long_name"
    r.weights = WeightsInfo(kind="random", source="", seed=0, label="random init (seed 0) — not a trained model")
    # issue 10: titles break only between phrases, sized to the figure (a 4.5-inch one here)
    what = ["Mean attention distance (ViT Fig. 7 right)", "37×37 patches of 14 px", "mean over 16 images"]
    lines = figures._title_lines(r, what, 4.5)
    assert lines == ["Mean attention distance (ViT Fig. 7 right)", "37×37 patches of 14 px · mean over 16 images",
                     "vit_base_patch14_reg4_dinov2_with_a_long_name", "random init (seed 0) · not a trained model"]


@pytest.mark.parametrize("model, first", [("resnet18", "layer1.0"), ("efficientnet_b0", "blocks.0.0")])
def test_params_do_not_multiply_a_cnns_first_block_by_depth(model, first):
    r = profile(model, sections=("card", "params"))
    block = sum(row.count for row in r.params.block)
    assert block * r.card.depth not in [g.count for g in r.params.groups]  # the blocks really differ
    md = render_sections(r, ["params"])["params"]
    assert f"First block (`{first}`; other blocks differ)" in md
    assert f"× {r.card.depth} blocks" not in md


def test_params_multiply_identical_vit_blocks():
    r = profile("vit_tiny_patch16_224", sections=("card", "params"), **TINY)
    block = sum(row.count for row in r.params.block)
    md = render_sections(r, ["params"])["params"]
    assert f"One block: {block:,}" in md  # the 2 blocks' sum is the `blocks` group's, in "By module" (once)
    assert re.search(rf"`blocks` {2 * block:,} \(", md) and f"= {2 * block:,}" not in md


@pytest.mark.parametrize("model, sentence, quadratic", [
    ("vit_tiny_patch16_224", "QKᵀ and AV grow as N²", True),
    ("swin_tiny_patch4_window7_224", "inside fixed-size windows", False),
    ("resnet18", "no attention matmuls here", False),
])
def test_scaling_text_matches_how_attention_scales(model, sentence, quadratic):
    report = profile(model, sections=("flops",))
    text = render_sections(report, ["flops"])["flops"]
    assert sentence in text and ("(N / N₀)²" in text) == (model != "resnet18")
    first, *rest = report.scaling
    for pt in rest:
        attn_growth = pt.attention_matmul_macs / first.attention_matmul_macs if first.attention_matmul_macs else 0
        pixel_growth = (pt.img_size / first.img_size) ** 2
        if quadratic:  # global attention: exactly (N/N0)^2
            assert attn_growth == pytest.approx((pt.num_tokens / first.num_tokens) ** 2)
        elif model == "resnet18":
            assert f"×{pixel_growth:.2f}" in text and pt.attention_matmul_macs == 0
        else:  # windows: roughly with pixels (padding to whole windows adds a little), far below N^2
            assert pixel_growth <= attn_growth < 1.3 * pixel_growth


def test_attention_pool_model_profiles_with_exact_params_and_its_own_eq4():
    """SigLIP-style `map` pooling: a learned latent query (a parameter view) must not break the tracker."""
    kw = {"embed_dim": 64, "depth": 1, "num_heads": 2, "num_classes": 10}
    report = profile("vit_base_patch16_siglip_224", sections=("card", "equations"), **kw)
    real = timm.create_model("vit_base_patch16_siglip_224", **kw)
    assert report.card.pooling == "map"
    assert report.params.total == sum(p.numel() for p in real.parameters())
    assert report.params.trainable == report.params.total  # grads switched off only while recording
    eq = render_sections(report, ["equations"])["equations"]
    assert "attention pooling" in eq and r"\operatorname{LN}(\mathbf{z}_L^0)" not in eq


def test_attention_pool_macs_match_fvcore():
    kw = {"embed_dim": 64, "depth": 2, "num_heads": 2, "num_classes": 10}
    from vitnotes.analysis import analyze

    r = analyze(AnalysisRequest("vit_base_patch16_siglip_224", model_kwargs=kw, sections=("card",),
                                flops_backend="fvcore"))
    assert r.macs.total == r.macs.dispatch_total > 0
