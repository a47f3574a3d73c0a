"""Checkpoints the tests write themselves round-trip through vitnotes' loaders; bad ones fail clearly."""

import hashlib

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from vitnotes.analysis.weights import create_model, load_weights
from vitnotes.errors import WeightsError

NAME = "vit_tiny_patch16_224"
TINY = {"patch_size": 8, "embed_dim": 64, "depth": 2, "num_heads": 2, "num_classes": 10}


def tiny(seed, **over):
    return create_model(NAME, 32, {**TINY, **over}, seed)


def assert_same_state(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


def google_npz(model, path):
    """Write ``model`` in Google's original ViT .npz layout: timm's _load_weights mapping, inverted."""
    sd = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    d = model.embed_dim
    h = model.blocks[0].attn.num_heads
    w = {
        "embedding/kernel": sd["patch_embed.proj.weight"].transpose(2, 3, 1, 0),  # OIHW -> HWIO
        "embedding/bias": sd["patch_embed.proj.bias"],
        "cls": sd["cls_token"],
        "Transformer/posembed_input/pos_embedding": sd["pos_embed"],
        "Transformer/encoder_norm/scale": sd["norm.weight"],
        "Transformer/encoder_norm/bias": sd["norm.bias"],
        "head/kernel": sd["head.weight"].T,
        "head/bias": sd["head.bias"],
    }
    for i in range(len(model.blocks)):
        b, m = f"Transformer/encoderblock_{i}/", f"Transformer/encoderblock_{i}/MultiHeadDotProductAttention_1/"
        p = f"blocks.{i}."
        w[b + "LayerNorm_0/scale"], w[b + "LayerNorm_0/bias"] = sd[p + "norm1.weight"], sd[p + "norm1.bias"]
        w[b + "LayerNorm_2/scale"], w[b + "LayerNorm_2/bias"] = sd[p + "norm2.weight"], sd[p + "norm2.bias"]
        qkv_w, qkv_b = sd[p + "attn.qkv.weight"], sd[p + "attn.qkv.bias"]
        for j, n in enumerate(("query", "key", "value")):
            w[m + f"{n}/kernel"] = qkv_w[j * d:(j + 1) * d].T.reshape(d, h, -1)  # [D, heads, head_dim]
            w[m + f"{n}/bias"] = qkv_b[j * d:(j + 1) * d].reshape(h, -1)
        w[m + "out/kernel"] = sd[p + "attn.proj.weight"].reshape(d, h, -1).transpose(1, 2, 0)
        w[m + "out/bias"] = sd[p + "attn.proj.bias"]
        for r in range(2):
            w[b + f"MlpBlock_3/Dense_{r}/kernel"] = sd[p + f"mlp.fc{r + 1}.weight"].T
            w[b + f"MlpBlock_3/Dense_{r}/bias"] = sd[p + f"mlp.fc{r + 1}.bias"]
    np.savez(path, **w)


def load(model, path):
    return load_weights(model, NAME, weights=str(path), pretrained=False, seed=0)


def test_seeded_random_init_is_deterministic_and_labelled():
    assert_same_state(tiny(3), tiny(3))
    assert not torch.equal(tiny(3).pos_embed, tiny(4).pos_embed)
    info = load_weights(tiny(3), NAME, weights=None, pretrained=False, seed=3)
    assert info.kind == "random" and info.label == "random init (seed 3) — not a trained model"


@pytest.mark.parametrize("fmt", ["safetensors", "pth", "npz"])
def test_checkpoint_round_trips_to_identical_tensors(tmp_path, fmt):
    src, dst = tiny(1), tiny(2)
    path = tmp_path / f"vit_tiny_test.{fmt}"
    if fmt == "safetensors":
        save_file({k: v.contiguous() for k, v in src.state_dict().items()}, str(path))
    elif fmt == "pth":
        torch.save({"state_dict": src.state_dict(), "epoch": 3}, path)
    else:
        google_npz(src, path)
    info = load(dst, path)
    assert_same_state(src, dst)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    assert info.kind == "file" and info.sha256 == sha
    assert info.label == f"vit_tiny_test.{fmt} (sha256 {sha[:12]})"


def test_truncated_safetensors_is_a_weights_error(tmp_path):
    path = tmp_path / "broken.safetensors"
    save_file({k: v.contiguous() for k, v in tiny(1).state_dict().items()}, str(path))
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(WeightsError, match="broken.safetensors is not a readable checkpoint"):
        load(tiny(2), path)


def test_garbage_pth_is_a_weights_error(tmp_path):
    path = tmp_path / "junk.pth"
    path.write_bytes(b"not a checkpoint at all" * 10)
    with pytest.raises(WeightsError, match="junk.pth is not a readable checkpoint"):
        load(tiny(2), path)


class Payload:
    pass


def test_pickled_objects_are_refused_not_executed(tmp_path):
    path = tmp_path / "pickled.pth"
    torch.save({"model": tiny(1).state_dict(), "extra": Payload()}, path)
    with pytest.raises(WeightsError, match="pickled Python objects"):
        load(tiny(2), path)


def test_shape_mismatch_is_named(tmp_path):
    path = tmp_path / "wide.safetensors"
    save_file({k: v.contiguous() for k, v in tiny(1, embed_dim=96).state_dict().items()}, str(path))
    dst = tiny(2)
    before = {k: v.clone() for k, v in dst.state_dict().items()}
    with pytest.raises(WeightsError) as err:
        load(dst, path)
    msg = str(err.value)
    assert "shape mismatch in 31 tensor(s): cls_token checkpoint [1, 1, 96] vs model [1, 1, 64]" in msg
    assert all(torch.equal(before[k], v) for k, v in dst.state_dict().items())  # model left as it was


def test_missing_and_unexpected_keys_are_summarised(tmp_path):
    sd = dict(tiny(1).state_dict())
    del sd["norm.weight"]
    sd["extra.bias"] = torch.zeros(3)
    path = tmp_path / "odd.safetensors"
    save_file({k: v.contiguous() for k, v in sd.items()}, str(path))
    with pytest.raises(WeightsError, match=r"1 missing key\(s\): norm\.weight; 1 unexpected key\(s\): extra\.bias"):
        load(tiny(2), path)


def test_class_count_mismatch_suggests_num_classes(tmp_path):
    path = tmp_path / "in21k.safetensors"
    save_file({k: v.contiguous() for k, v in tiny(1, num_classes=21).state_dict().items()}, str(path))
    with pytest.raises(WeightsError) as err:
        load(tiny(2), path)
    assert "num_classes: 21" in err.value.hint


def test_npz_of_another_architecture_is_refused(tmp_path):
    deeper, wider = tmp_path / "deep.npz", tmp_path / "wide.npz"
    google_npz(tiny(1, depth=3), deeper)
    google_npz(tiny(1, embed_dim=96), wider)
    with pytest.raises(WeightsError, match=r"depth 3 \(model 2\)"):
        load(tiny(2), deeper)
    with pytest.raises(WeightsError, match=r"embed_dim 96 \(model 64\)"):
        load(tiny(2), wider)
    junk = tmp_path / "junk.npz"
    np.savez(junk, something=np.zeros(3))
    with pytest.raises(WeightsError, match="junk.npz"):
        load(tiny(2), junk)


def test_missing_file_and_unknown_format(tmp_path):
    with pytest.raises(WeightsError, match="not found"):
        load(tiny(2), tmp_path / "nope.safetensors")
    odd = tmp_path / "weights.h5"
    odd.write_bytes(b"x")
    with pytest.raises(WeightsError, match="unsupported weights format"):
        load(tiny(2), odd)


def test_pretrained_uses_the_local_hf_cache_without_network(tmp_path, monkeypatch):
    """Issue 10 changed this: without a cached copy vitnotes now downloads (tests/test_hub_download.py);
    offline (HF_HUB_OFFLINE) it says so, and a cached copy is used with no network at all."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    dst = tiny(2)
    with pytest.raises(WeightsError, match="not in the Hugging Face cache .*HF_HUB_OFFLINE is set"):
        load_weights(dst, NAME, weights=None, pretrained=True, seed=0)

    # the cache layout huggingface_hub itself writes: refs/main -> snapshots/<commit>/<file>
    hub_id = dst.pretrained_cfg["hf_hub_id"]
    repo = tmp_path / ("models--" + hub_id.replace("/", "--"))
    snap = repo / "snapshots" / ("0" * 40)
    snap.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0" * 40)
    src = tiny(1)
    save_file({k: v.contiguous() for k, v in src.state_dict().items()}, str(snap / "model.safetensors"))
    info = load_weights(dst, NAME, weights=None, pretrained=True, seed=0)
    assert info.kind == "hf-cache" and info.source == hub_id and "HF cache" in info.label
    assert_same_state(src, dst)
