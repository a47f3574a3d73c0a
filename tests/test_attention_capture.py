"""Hooked attention equals attention computed by hand; the fused path is untouched; random ViTs are flat."""

import pytest
import torch
import torch.nn.functional as F

from vitnotes.analysis.attention import (
    AttentionCapture, attention_rollout, mean_attention_distance, rollout_mask, uniform_distance, vit_geometry,
)
from vitnotes.analysis.weights import create_model
from vitnotes.errors import ModelError

TINY = {"patch_size": 8, "embed_dim": 64, "depth": 2, "num_heads": 2, "num_classes": 10}


def tiny(img_size=32, seed=0, **extra):
    return create_model("vit_tiny_patch16_224", img_size, {**TINY, **extra}, seed)


def hand_attention_maps(model, x):
    """Per block: softmax(q·kᵀ·scale) recomputed from the block's own weights, not via attn_drop."""
    maps = []
    with torch.no_grad():
        h = model.norm_pre(model.patch_drop(model._pos_embed(model.patch_embed(x))))
        for blk in model.blocks:
            attn = blk.attn
            y = blk.norm1(h)
            B, N, C = y.shape
            qkv = F.linear(y, attn.qkv.weight, attn.qkv.bias).reshape(B, N, 3, attn.num_heads, -1)
            q, k = qkv[:, :, 0].transpose(1, 2), qkv[:, :, 1].transpose(1, 2)
            scale = q.shape[-1] ** -0.5
            maps.append(torch.softmax(q @ k.transpose(-2, -1) * scale, dim=-1))
            h = blk(h)
    return maps


def run_capture(model, x, rollout_images=0, batch=None):
    geo = vit_geometry(model)
    batch = batch or x.shape[0]
    with AttentionCapture(model, geo, rollout_images=rollout_images) as cap, torch.no_grad():
        for start in range(0, x.shape[0], batch):
            cap.begin_batch(start, x[start:start + batch].shape[0])
            out = model(x[start:start + batch])
            cap.end_batch()
    return cap, out


@pytest.mark.parametrize("img_size,extra", [
    (32, {}),
    ((32, 48), {"reg_tokens": 2}),  # non-square grid, [CLS] + 2 registers
    (32, {"class_token": False, "global_pool": "avg"}),  # no prefix token at all
])
def test_captured_numbers_equal_hand_computed_attention(img_size, extra):
    model = create_model("vit_tiny_patch16_224", None, {**TINY, "img_size": img_size, **extra}, 0)
    geo = vit_geometry(model)
    x = torch.randn(5, 3, *((img_size, img_size) if isinstance(img_size, int) else img_size),
                    generator=torch.Generator().manual_seed(0))
    maps = hand_attention_maps(model, x)
    cap, _ = run_capture(model, x, rollout_images=3, batch=2)  # batches of 2: rollout spans two batches
    assert cap.images == 5 and len(cap.mad_px()) == 2
    for layer, a in enumerate(maps):
        ref = mean_attention_distance(a.double(), geo.grid, geo.patch_size, geo.num_prefix_tokens).mean(0)
        assert torch.allclose(torch.tensor(cap.mad_px()[layer], dtype=torch.float64), ref, atol=1e-3)
    masks = cap.rollout_masks()
    assert len(masks) == 3
    for i in range(3):
        joint = attention_rollout([a[i].double().mean(0) for a in maps])
        assert torch.allclose(masks[i], rollout_mask(joint, geo), atol=1e-5)


def test_fused_and_unfused_forward_agree_and_fused_is_restored():
    model = tiny()
    assert all(b.attn.fused_attn for b in model.blocks)  # the default this pass must switch off
    x = torch.randn(3, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        fused = model(x)
    cap, unfused = run_capture(model, x)
    assert torch.allclose(fused, unfused, atol=1e-5)
    assert all(b.attn.fused_attn for b in model.blocks)
    assert all(not b.attn.attn_drop._forward_hooks for b in model.blocks)


def test_a_block_whose_map_was_not_seen_is_an_error():
    model = tiny()
    with AttentionCapture(model, vit_geometry(model)) as cap:
        cap.begin_batch(0, 1)
        with pytest.raises(RuntimeError, match="expected one each"):
            cap.end_batch()


def test_models_without_a_patch_grid_are_refused():
    model = create_model("resnet18", None, {"num_classes": 10}, 0)
    with pytest.raises(ModelError, match="patch grid"):
        vit_geometry(model, "resnet18")


def test_random_vit_tiny_is_near_uniform_at_every_layer():
    from vitnotes.analysis.images import load_images

    model = create_model("vit_tiny_patch16_224", None, {}, 0)
    geo = vit_geometry(model)
    images = load_images(model, None, 2)  # matplotlib's sample photograph(s)
    cap, _ = run_capture(model, images.batch)
    uniform = uniform_distance(geo.grid, geo.patch_size)
    assert uniform == pytest.approx(116.4922, abs=1e-3)
    mad = torch.tensor(cap.mad_px())
    assert mad.shape == (12, 3)
    assert float((mad - uniform).abs().max()) < 4.0
