"""The structural pass: card, exact params, shapes, scaling and errors, checked against real timm
models, analytic formulas and the ViT paper."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
import timm

from vitnotes.analysis.build import build_model
from vitnotes.analysis.report import Report
from vitnotes.analysis.request import AnalysisRequest
from vitnotes.analysis.structure import profile_structure
from vitnotes.errors import ModelError
from vitnotes.render.stages import stage_label

TINY = {"embed_dim": 64, "depth": 2, "num_heads": 2}


def profile(model, img_size=None, sections=("card", "shapes", "params"), **kwargs):
    return profile_structure(AnalysisRequest(model, img_size=img_size, model_kwargs=kwargs, sections=sections))


def vit_params(depth, dim, patch=16, chans=3, tokens=197, classes=1000, mlp_ratio=4):
    """Analytic count of a timm ViT with [CLS], learned pos-embed, qkv bias and a final LayerNorm."""
    hidden = mlp_ratio * dim
    block = (2 * dim) + (3 * dim * dim + 3 * dim) + (dim * dim + dim) + (2 * dim) \
        + (dim * hidden + hidden) + (hidden * dim + dim)
    embed = chans * patch * patch * dim + dim
    return embed + dim + tokens * dim + depth * block + 2 * dim + dim * classes + classes


@pytest.fixture(scope="module")
def vit_b16():
    return profile("vit_base_patch16_224", sections=("card", "shapes", "params", "flops"))


def test_vit_b16_shape_table(vit_b16):
    c = vit_b16.card
    assert (c.patch_size, c.grid, c.num_patches, c.num_tokens) == (16, [14, 14], 196, 197)
    assert (c.embed_dim, c.depth, c.num_heads, c.head_dim, c.mlp_hidden) == (768, 12, 12, 64, 3072)
    assert c.prefix_tokens == ["cls"] and c.pos_embed_shape == [1, 197, 768]
    stages = {stage_label(r): r.shape for r in vit_b16.shapes.stages}  # block steps read "block: qkv"
    assert stages["image"] == "B×3×224×224"
    assert stages["patch projection"] == "B×768×14×14"
    assert stages["patch tokens"] == "B×196×768"
    assert stages["with prefix tokens"] == "B×197×768"
    assert stages["block: qkv"] == "B×197×2304"
    assert stages["block: Q per head"] == "B×12×197×64"
    assert stages["block: attention matrix softmax(QKᵀ/√d_k)"] == "B×12×197×197"
    assert stages["block: MLP hidden"] == "B×197×3072"
    assert stages["pooled feature"] == "B×768"
    assert stages["logits"] == "B×1000"
    order = [stage_label(r) for r in vit_b16.shapes.stages]
    assert order.index("image") < order.index("patch tokens") < order.index("block: qkv") < order.index("logits")


def test_trace_agrees_with_card(vit_b16):
    """The op trace (recorded, not derived) holds the same facts: conv to 768×14×14, qkv 2304,
    the attention bmm producing 12 maps of 197×197 per image."""
    trace = vit_b16.shapes.trace
    assert any(t.op.startswith("aten.convolution") and t.output == "B×768×14×14" for t in trace)
    assert any(t.module == "blocks.0.attn.qkv" and t.output.endswith("197×2304") for t in trace)
    assert any(t.module == "blocks.0.attn" and t.output == "B·12×197×197" for t in trace)
    assert trace[-1].output == "B×1000"


def test_vit_b16_params_and_paper_row(vit_b16):
    p = vit_b16.params
    assert p.total == p.trainable == 86_567_656 == vit_params(12, 768)
    assert sum(g.count for g in p.groups) == p.total
    blocks = next(g for g in p.groups if g.name == "blocks")
    assert sum(b.count for b in p.block) * 12 == blocks.count
    a = p.attention
    assert (a.wq, a.wk, a.wv, a.wo) == ([768, 64], [768, 64], [768, 64], [768, 768])
    assert a.params_per_block == 4 * 768 * 768 + 4 * 768
    row = vit_b16.card.paper_row
    assert (row["name"], row["layers"], row["hidden"], row["mlp"], row["heads"]) == ("ViT-Base", 12, 768, 3072, 12)


def test_vit_b16_macs_split_and_scaling(vit_b16):
    m = vit_b16.macs
    by_op = {r.name: r.macs for r in m.by_op}
    n, d, L = 197, 768, 12
    assert by_op["attention matmul"] == 2 * L * n * n * d  # QKᵀ + AV over all heads
    assert by_op["convolution"] == 196 * 768 * 3 * 16 * 16
    assert sum(by_op.values()) == m.total == sum(r.macs for r in m.by_group)
    assert 0.3 < m.attention_share < 0.4 and 0.6 < m.mlp_share < 0.7
    assert abs(m.attention_share + m.mlp_share - 1) < 0.01  # the rest: embed, norms, head
    pts = {p.img_size: p for p in vit_b16.scaling}
    assert set(pts) == {224, 384, 512}
    assert pts[224].macs == m.total
    for size, pt in pts.items():
        tokens = (size // 16) ** 2 + 1
        assert pt.num_tokens == tokens
        assert pt.attention_matmul_macs == 2 * L * tokens * tokens * d


def test_report_json_round_trip(vit_b16):
    again = Report.from_json(vit_b16.to_json())
    assert again == vit_b16
    data = json.loads(vit_b16.to_json())
    assert data["card"]["num_heads"] == 12 and data["params"]["total"] == 86_567_656


@pytest.mark.parametrize("name, kwargs", [
    ("vit_tiny_patch16_224", {}),
    ("deit_tiny_distilled_patch16_224", {}),
    ("vit_base_patch16_224", TINY),
    ("swin_tiny_patch4_window7_224", {}),
    ("resnet18", {}),
])
def test_params_equal_a_real_timm_model(name, kwargs):
    real = timm.create_model(name, pretrained=False, **kwargs)
    expected = sum(p.numel() for p in real.parameters())
    report = profile(name, **kwargs)
    assert report.params.total == expected
    assert sum(g.count for g in report.params.groups) == expected


@pytest.mark.parametrize("name, depth, dim, patch, tokens, classes", [
    ("vit_large_patch16_224", 24, 1024, 16, 197, 1000),
    ("vit_huge_patch14_224", 32, 1280, 14, 257, 0),  # timm's ViT-H/14 config has no classifier
])
def test_big_vits_match_the_formula_and_the_paper(name, depth, dim, patch, tokens, classes):
    r = profile(name, sections=("card", "params"))
    assert r.card.num_classes == classes
    assert r.params.total == vit_params(depth, dim, patch=patch, tokens=tokens, classes=classes)
    assert r.card.paper_row["layers"] == depth and r.card.paper_row["hidden"] == dim


def test_distilled_and_register_prefix_tokens():
    d = profile("deit_tiny_distilled_patch16_224").card
    assert d.prefix_tokens == ["cls", "dist"] and d.num_tokens == 198
    r = profile("vit_small_patch14_reg4_dinov2", img_size=224).card
    assert r.num_prefix_tokens == 5 and r.prefix_tokens == ["cls", "reg×4"] and r.num_tokens == 16 * 16 + 5


def test_img_size_goes_to_vits_but_only_feeds_convnets():
    v = profile("vit_base_patch16_224", img_size=384, **TINY)
    assert v.card.num_tokens == 577 and v.card.img_size == [384, 384]
    r = profile("resnet18", img_size=160)
    assert r.card.img_size == [160, 160]
    assert r.shapes.hierarchy[-1].resolution == "5×5"  # 160 / 32


def test_hierarchical_models_show_downsampling():
    swin = profile("swin_tiny_patch4_window7_224")
    rows = swin.shapes.hierarchy
    assert [r.resolution for r in rows] == ["56×56", "56×56", "28×28", "14×14", "7×7"]
    assert [r.channels for r in rows] == [96, 96, 192, 384, 768]
    assert [r.depth for r in rows[1:]] == [2, 2, 6, 2]
    assert all("patch merging" in r.downsample for r in rows[2:])
    assert swin.card.num_heads is None and swin.card.num_tokens is None  # ViT-only fields absent
    # window attention folds windows into the batch: the trace says so instead of hiding B
    assert any(r.shape == "B·64×49×288" for r in swin.shapes.block)
    conv = profile("convnext_tiny")
    assert [r.channels for r in conv.shapes.hierarchy] == [96, 96, 192, 384, 768]
    assert "stride-2 conv" in conv.shapes.hierarchy[2].downsample


def test_unknown_model_names_close_matches():
    with pytest.raises(ModelError) as err:
        build_model("vit_bse_patch16_224", None, {})
    assert "vit_base_patch16_224" in str(err.value)
    assert err.value.exit_code == 2


@pytest.mark.parametrize("kwargs, key", [
    ({"not_a_param": 1}, "not_a_param"),
    ({"depth": 2, "num_heads": "many"}, "num_heads"),
    ({"pretrained": True}, "pretrained"),
])
def test_bad_kwargs_name_the_key(kwargs, key):
    with pytest.raises(ModelError) as err:
        build_model("vit_tiny_patch16_224", None, kwargs)
    assert repr(key) in str(err.value)


def test_meta_build_allocates_nothing():
    m = build_model("vit_base_patch16_224", None, {})
    assert all(p.device.type == "meta" for p in m.parameters()) and not m.training


@pytest.mark.slow
def test_fvcore_backend_agrees_with_dispatch():
    r = profile_structure(AnalysisRequest("vit_tiny_patch16_224", sections=("card",), flops_backend="fvcore"))
    assert r.macs.backend == "fvcore"
    assert abs(r.macs.total - r.macs.dispatch_total) / r.macs.dispatch_total < 0.0025


@pytest.mark.slow
def test_vit_22b_sized_config_profiles_in_little_memory():
    """embed_dim 6144, depth 48, heads 48: the exact count from the formula, peak RSS < 2 GB."""
    code = textwrap.dedent("""
        import json, resource
        from vitnotes.analysis.request import AnalysisRequest
        from vitnotes.analysis.structure import profile_structure
        r = profile_structure(AnalysisRequest("vit_base_patch16_224", sections=("card", "params", "flops"),
                              model_kwargs={"embed_dim": 6144, "depth": 48, "num_heads": 48}))
        print(json.dumps({"params": r.params.total, "macs": r.macs.total, "heads": r.card.num_heads,
                          "rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res["params"] == vit_params(48, 6144) == 21_759_204_328
    assert res["heads"] == 48
    assert res["rss_kb"] < 2 * 1024 * 1024
    d, n, L = 6144, 197, 48  # linear layers dominate: 12·N·D² per block
    assert res["macs"] > L * 12 * n * d * d
