"""Images: the user's folder or shipped photographs, timm's preprocessing at the model's real size."""

import numpy as np
import pytest
import torch
from PIL import Image

from vitnotes.analysis.images import data_config, encode_image, load_images
from vitnotes.analysis.weights import create_model
from vitnotes.errors import SpecError
from vitnotes.render.figures import decode_image

TINY = {"patch_size": 8, "embed_dim": 64, "depth": 2, "num_heads": 2, "num_classes": 10}


@pytest.fixture(scope="module")
def model():
    return create_model("vit_tiny_patch16_224", 64, TINY, 0)


def write_folder(d):
    Image.new("RGB", (300, 200), (255, 0, 0)).save(d / "a_red.png")
    Image.new("L", (80, 120), 255).save(d / "b_gray.jpg", quality=100)
    Image.new("RGBA", (50, 50), (0, 0, 0, 0)).save(d / "c_clear.png")  # fully transparent
    Image.new("RGB", (64, 64), (0, 0, 255)).save(d / "d_blue.webp", lossless=True)
    (d / "e_broken.jpg").write_bytes(b"this is not a jpeg")
    (d / "notes.txt").write_text("ignored")
    (d / ".hidden.png").write_bytes(b"ignored too")


def test_folder_images_converted_and_normalised_with_timm_config(tmp_path, model):
    write_folder(tmp_path)
    messages = []
    got = load_images(model, str(tmp_path), 16, progress=messages.append)
    info = got.info
    assert info.names == ["a_red.png", "b_gray.jpg", "c_clear.png", "d_blue.webp"]
    assert info.count == 4 and got.batch.shape == (4, 3, 64, 64)
    assert len(info.skipped) == 1 and info.skipped[0].startswith("e_broken.jpg: ")
    assert any("e_broken.jpg" in m for m in messages)
    cfg = data_config(model)
    mean, std = torch.tensor(cfg["mean"]), torch.tensor(cfg["std"])

    def expect(rgb):  # a flat colour stays flat through resize and crop: (value - mean) / std
        return (torch.tensor(rgb, dtype=torch.float32) / 255 - mean) / std

    for i, rgb in enumerate([(255, 0, 0), (255, 255, 255), (255, 255, 255), (0, 0, 255)]):
        per_channel = got.batch[i].mean(dim=(1, 2))
        assert torch.allclose(per_channel, expect(rgb), atol=1e-2), info.names[i]
    assert got.display[0].shape == (64, 64, 3) and tuple(got.display[0][10, 10]) == (255, 0, 0)
    assert tuple(got.display[2][5, 5]) == (255, 255, 255)  # transparency composited on white


def test_fewer_images_than_asked_are_used_as_is(tmp_path, model):
    write_folder(tmp_path)
    assert load_images(model, str(tmp_path), 2).info.names == ["a_red.png", "b_gray.jpg"]
    got = load_images(model, str(tmp_path), 50)
    assert got.info.count == 4 and len(set(got.info.names)) == 4  # no repeats to reach 50


def test_input_size_is_the_models_not_the_pretrained_configs():
    m = create_model("vit_small_patch14_dinov2", 224, {"depth": 1, "embed_dim": 64, "num_heads": 2}, 0)
    assert tuple(m.pretrained_cfg["input_size"]) == (3, 518, 518)
    assert data_config(m)["input_size"] == (3, 224, 224)
    assert load_images(m, None, 1).batch.shape[-2:] == (224, 224)


def test_default_is_a_photograph_shipped_offline(model):
    got = load_images(model, None, 16)
    assert "matplotlib sample data" in got.info.source
    assert "grace_hopper.jpg" in got.info.names
    assert got.info.count == len(got.info.names) == got.batch.shape[0] <= 16


def test_missing_or_empty_folder_is_a_spec_error(tmp_path, model):
    with pytest.raises(SpecError, match="not found"):
        load_images(model, str(tmp_path / "nope"), 4)
    (tmp_path / "bad.png").write_bytes(b"\x89PNG broken")
    with pytest.raises(SpecError, match="no readable images .*1 skipped"):
        load_images(model, str(tmp_path), 4)


def test_encoded_image_round_trips():
    pix = np.random.default_rng(0).integers(0, 256, (7, 5, 3), dtype=np.uint8)
    enc = encode_image("x.png", pix)
    assert (enc.height, enc.width) == (7, 5)
    assert np.array_equal(decode_image(enc), pix)
