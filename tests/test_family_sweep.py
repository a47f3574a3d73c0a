"""Patch size, token count and down-sampling steps for every model family, checked against the model's
own attributes: timm's ``patch_embed``/``stem`` settings and ``feature_info`` (each stage's reduction),
read from the model built on the meta device — never from vitnotes' own tables."""

from __future__ import annotations

import pytest
import timm
import torch

from vitnotes.analysis.request import AnalysisRequest
from vitnotes.analysis.structure import profile_structure

TINY_VIT = {"embed_dim": 64, "depth": 2, "num_heads": 2}

# family -> (timm name, kwargs, the module that cuts patches, or None for a stem that does not)
FAMILIES = {
    "vit": ("vit_tiny_patch16_224", TINY_VIT, "patch_embed.proj"),
    "deit": ("deit_tiny_distilled_patch16_224", TINY_VIT, "patch_embed.proj"),
    "swin": ("swin_tiny_patch4_window7_224", {"depths": (2, 2, 2, 2)}, "patch_embed.proj"),
    "convnext": ("convnext_atto", {}, "stem.0"),
    "resnet": ("resnet18", {}, None),
    "mixer": ("mixer_s16_224", {}, "stem.proj"),
    "eva": ("eva02_tiny_patch14_224", {"depth": 2}, "patch_embed.proj"),
    "beit": ("beit_base_patch16_224", TINY_VIT, "patch_embed.proj"),
    "dinov2": ("vit_small_patch14_dinov2", {"depth": 2, "img_size": 224}, "patch_embed.proj"),
    "poolformer": ("poolformer_s12", {}, "stem.conv"),
    "hybrid": ("vit_tiny_r_s16_p8_224", {"depth": 2}, "patch_embed"),
}


def _meta(name, kwargs):
    with torch.device("meta"):
        return timm.create_model(name, **kwargs)


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def family(request):
    name, kwargs, stem = FAMILIES[request.param]
    report = profile_structure(AnalysisRequest(name, model_kwargs=kwargs, sections=("card", "shapes", "params"),
                                               scaling_sizes=()))
    return request.param, report, _meta(name, kwargs), stem


def test_patch_size_and_token_grid_match_the_model(family):
    fam, report, model, stem_name = family
    c = report.card
    if stem_name is None:  # ResNet: 7×7 stride-2 conv + max pool cut no patches
        assert c.patch_size is None and c.grid is None and c.stem is None
        return
    module = model.get_submodule(stem_name)
    if fam == "hybrid":
        pe = model.patch_embed
        assert c.patch_size == _pair(pe.patch_size)[0]
        assert c.grid == list(_pair(pe.grid_size))
        assert c.token_stride == model.feature_info[0]["reduction"] == 32
        assert c.stem.startswith("hybrid")
    else:
        stride = _pair(module.stride)[0]
        assert c.patch_size == stride
        assert c.token_stride == stride == model.feature_info[0]["reduction"]
        kernel = _pair(module.kernel_size)[0]
        assert c.stem == (f"patchify: conv {kernel}×{kernel}, stride {stride}" if kernel == stride
                          else f"overlapping patch embedding: conv {kernel}×{kernel}, stride {stride}")
        assert c.grid == [224 // stride, 224 // stride]
    assert c.stem_module == stem_name
    assert c.num_patches == c.grid[0] * c.grid[1]
    pe = getattr(model, "patch_embed", None) or getattr(model, "stem", None)
    if hasattr(pe, "num_patches"):
        assert c.num_patches == pe.num_patches
    if hasattr(model, "num_prefix_tokens") and c.num_tokens is not None:
        assert c.num_tokens == c.num_patches + model.num_prefix_tokens


def test_token_count_for_token_models(family):
    fam, report, model, _ = family
    expected = {"vit": 197, "deit": 198, "eva": 257, "beit": 197, "dinov2": 257, "mixer": 196, "hybrid": 50}
    if fam in expected:
        assert report.card.num_tokens == expected[fam]
        blocks = [s for s in report.shapes.stages if s.module == "blocks"] or report.shapes.stages
        assert any(f"×{expected[fam]}×" in s.shape for s in blocks)
    else:  # feature maps, not a token sequence
        assert report.card.num_tokens is None


def test_down_sampling_steps_match_feature_info(family):
    fam, report, model, _ = family
    reductions = {f["module"]: f["reduction"] for f in model.feature_info}
    rows = report.shapes.hierarchy
    if fam in ("swin", "convnext", "resnet", "poolformer"):
        for row in rows:
            if row.name in reductions:
                assert 224 // int(row.resolution.split("×")[0]) == reductions[row.name], row
        assert {r.name for r in rows} >= {n for n in reductions if n.startswith(("layers.", "stages.", "layer"))}
    else:  # one step, the patchify: every block sees the same grid
        assert rows == []
        assert set(reductions.values()) == {report.card.token_stride}


def test_position_information_is_what_the_model_has(family):
    fam, report, model, _ = family
    pos = report.card.pos_embed
    if isinstance(getattr(model, "pos_embed", None), torch.Tensor):
        assert pos.startswith("learned absolute") and report.card.pos_embed_shape == list(model.pos_embed.shape)
    elif fam == "mixer":
        assert pos.startswith("none needed") and "token-mixing MLPs" in pos
    elif fam in ("resnet", "convnext", "poolformer"):
        assert pos.startswith("none") and "padding" in pos
    elif fam in ("swin", "beit"):
        assert pos.startswith("relative position bias")
        assert ("windowed" in pos) == (fam == "swin")


def test_swin_blocks_show_window_partition_shift_and_reverse():
    report = profile_structure(AnalysisRequest("swin_tiny_patch4_window7_224", model_kwargs={"depths": (2, 2, 2, 2)},
                                               sections=("card", "shapes"), scaling_sizes=()))
    model = _meta("swin_tiny_patch4_window7_224", {"depths": (2, 2, 2, 2)})
    blk0, blk1 = model.layers[0].blocks[0], model.layers[0].blocks[1]
    ws, shift = _pair(blk0.window_size)[0], _pair(blk1.shift_size)[0]
    assert _pair(blk0.shift_size)[0] == 0 and shift > 0
    steps = {r.stage: r for r in report.shapes.block}
    n_win = (56 // ws) ** 2
    assert steps["W-MSA: window partition"].shape == f"B·{n_win}×{ws * ws}×96"
    assert steps["W-MSA: window attention"].shape == f"B·{n_win}×{blk0.attn.num_heads}×{ws * ws}×{ws * ws}"
    assert steps["W-MSA: window reverse"].shape == "B×56×56×96"
    assert "W-MSA: cyclic shift" not in steps
    assert f"−{shift}" in steps["SW-MSA: cyclic shift"].note and "mask" in steps["SW-MSA: window attention"].note
    assert f"+{shift}" in steps["SW-MSA: reverse shift"].note
