"""NoteSpec validation: every bad key is named, paths stay inside the vault."""

from pathlib import Path

import pytest

from vitnotes.errors import SpecError
from vitnotes.sections import default_names, names
from vitnotes.spec import DEFAULT_MODEL, build_spec, check_model_kwargs

ALL_SECTIONS = names()
DEFAULT_SECTIONS = default_names()


def spec(fm, tmp_path, **kw):
    return build_spec(fm, vault_root=tmp_path, **kw)


def test_short_form_and_defaults(tmp_path):
    s = spec({"vitnotes": "vit_small_patch16_224"}, tmp_path)
    # every section but the opt-in speed section (it times real runs)
    assert (s.model, s.source, s.sections, s.num_images) == ("vit_small_patch16_224", "frontmatter", DEFAULT_SECTIONS, 16)
    assert DEFAULT_SECTIONS == tuple(n for n in ALL_SECTIONS if n != "speed")


def test_model_precedence(tmp_path):
    assert spec(None, tmp_path).model == DEFAULT_MODEL
    assert spec(None, tmp_path).source == "default"
    assert spec(None, tmp_path, vault_config={"model": "deit_tiny_patch16_224"}).source == "vault config"
    s = spec(None, tmp_path, cli_model="vit_tiny_patch16_224", vault_config={"model": "deit_tiny_patch16_224"})
    assert (s.model, s.source) == ("vit_tiny_patch16_224", "--model")
    s = spec({"vitnotes": {"model": "vit_large_patch16_224"}}, tmp_path, cli_model="vit_tiny_patch16_224")
    assert (s.model, s.source) == ("vit_large_patch16_224", "frontmatter")


def test_vault_config_supplies_other_defaults(tmp_path):
    s = spec({"vitnotes": {"model": "m"}}, tmp_path, vault_config={"vitnotes": {"num_images": 4}})
    assert s.num_images == 4


@pytest.mark.parametrize(
    "block, needle",
    [
        ({"modle": "x"}, "vitnotes.modle"),
        ({"model": "x", "img_size": "big"}, "vitnotes.img_size"),
        ({"model": "x", "img_size": True}, "vitnotes.img_size"),
        ({"model": "x", "num_images": 0}, "vitnotes.num_images"),
        ({"model": "x", "sections": ["shapes", "shape"]}, "'shape'"),
        ({"model": "x", "model_kwargs": {"depth": {1, 2}}}, "model_kwargs.depth"),
        ({"model": "x", "model_kwargs": [1]}, "model_kwargs"),
        ({"model": "x", "pretrained": "yes"}, "vitnotes.pretrained"),
        ({"model": 5}, "vitnotes.model"),
        (["x"], "vitnotes"),
    ],
)
def test_errors_name_the_key(tmp_path, block, needle):
    with pytest.raises(SpecError) as err:
        spec({"vitnotes": block}, tmp_path)
    assert needle in str(err.value)


def test_unknown_key_suggests(tmp_path):
    with pytest.raises(SpecError, match="did you mean 'model'"):
        spec({"vitnotes": {"modle": "x"}}, tmp_path)


def test_paths_resolve_inside_vault(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "w.safetensors").write_bytes(b"x")
    (tmp_path / "imgs").mkdir()
    s = spec({"vitnotes": {"model": "m", "weights": "models/w.safetensors", "images": "imgs"}}, tmp_path)
    assert s.weights == tmp_path / "models" / "w.safetensors"
    assert s.images == tmp_path / "imgs"
    req = s.request()
    assert req.weights == str(tmp_path / "models" / "w.safetensors") and req.needs_forward


def test_dotdot_escape_refused(tmp_path):
    vault = tmp_path / "vault"
    vault.mkdir()
    (tmp_path / "secret.pth").write_bytes(b"x")
    with pytest.raises(SpecError, match="vitnotes.weights.*outside the vault"):
        spec({"vitnotes": {"model": "m", "weights": "../secret.pth"}}, vault)


def test_symlink_escape_refused(tmp_path):
    vault = tmp_path / "vault"
    vault.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (vault / "imgs").symlink_to(outside)
    with pytest.raises(SpecError, match="vitnotes.images.*outside the vault"):
        spec({"vitnotes": {"model": "m", "images": "imgs"}}, vault)


def test_absolute_path_outside_the_vault_needs_the_vaults_permission(tmp_path):
    """Issue 13: a note (maybe synced from someone else) may read outside its vault only where the
    vault's own config allows it; inside the vault an absolute path is taken as typed."""
    vault = tmp_path / "vault"
    vault.mkdir()
    w = tmp_path / "w.safetensors"
    w.write_bytes(b"x")
    with pytest.raises(SpecError, match="vitnotes.weights.*outside the vault.*read_outside_vault"):
        spec({"vitnotes": {"model": "m", "weights": str(w)}}, vault)
    config = {"read_outside_vault": [str(tmp_path)]}
    assert spec({"vitnotes": {"model": "m", "weights": str(w)}}, vault, vault_config=config).weights == w
    inside = vault / "w.pth"
    inside.write_bytes(b"x")
    assert spec({"vitnotes": {"model": "m", "weights": str(inside)}}, vault).weights == inside


def test_missing_file_named(tmp_path):
    with pytest.raises(SpecError, match="vitnotes.weights: file 'nope.pth' not found"):
        spec({"vitnotes": {"model": "m", "weights": "nope.pth"}}, tmp_path)


def test_kwargs_json_types():
    assert check_model_kwargs({"depth": 2, "mlp_ratio": 2.0, "class_token": False, "x": [1, "a"]}) == {
        "depth": 2, "mlp_ratio": 2.0, "class_token": False, "x": [1, "a"]}
    with pytest.raises(SpecError, match=r"model_kwargs.act: \w*Path values are not allowed"):
        check_model_kwargs({"act": Path("x")})


def test_pretrained_tags_name_timms_checkpoint():
    def spec(**block):
        return build_spec({"vitnotes": block}, vault_root=None)

    s = spec(model="vit_base_patch16_224", pretrained="augreg2_in21k_ft_in1k")
    assert (s.model, s.pretrained) == ("vit_base_patch16_224.augreg2_in21k_ft_in1k", True)
    s = spec(model="vit_base_patch16_224.augreg2_in21k_ft_in1k")  # a full name asks for that checkpoint
    assert (s.model, s.pretrained) == ("vit_base_patch16_224.augreg2_in21k_ft_in1k", True)
    s = spec(model="vit_base_patch16_224.augreg2_in21k_ft_in1k", pretrained=False)
    assert s.pretrained is False
    assert spec(model="vit_base_patch16_224", pretrained=True).model == "vit_base_patch16_224"
    assert spec(model="vit_base_patch16_224").pretrained is False
    with pytest.raises(SpecError, match="names tag 'augreg_in1k' but vitnotes.pretrained names 'orig_in21k'"):
        spec(model="vit_base_patch16_224.augreg_in1k", pretrained="orig_in21k")
    with pytest.raises(SpecError, match="vitnotes.pretrained"):
        spec(model="vit_base_patch16_224", pretrained="../x")
