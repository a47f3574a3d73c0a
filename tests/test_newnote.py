"""`vitnotes new`: the model name it writes reads back exactly, whatever YAML would make of it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vitnotes.obsidian.note import read_note
from vitnotes.newnote import new_note
from vitnotes.spec import build_spec


@pytest.mark.parametrize("model", ["vit_tiny_patch16_224", "hf-hub:timm/vit_base_patch16_224.augreg_in21k",
                                   "vit_base #note", "odd: name", "yes", "1e3"])
def test_new_note_frontmatter_reads_back_the_exact_model(tmp_path: Path, model: str):
    """Regression: `model: {{ model }}` cut a name at " #" (a YAML comment), broke the YAML on ": ",
    and turned "yes" / "1e3" into a bool / float, which the spec then rejected."""
    (tmp_path / ".obsidian").mkdir()
    (tmp_path / ".obsidian" / "app.json").write_text(json.dumps({}))
    path = new_note("T", model=model, vault=tmp_path)
    note = read_note(path)
    # issue 10: a model timm has trained weights for gets `pretrained: true` (the figures need them)
    trained = {"pretrained": True} if model == "vit_tiny_patch16_224" else {}
    assert note.frontmatter["vitnotes"] == {"model": model, **trained}
    assert build_spec(note.frontmatter, vault_root=tmp_path).model == model
    if model == "vit_tiny_patch16_224":  # plain names stay as a user would type them
        assert "  model: vit_tiny_patch16_224\n" in note.text


def test_new_note_asks_for_trained_weights_unless_the_vault_decides(tmp_path: Path):
    (tmp_path / ".obsidian").mkdir()
    (tmp_path / ".obsidian" / "app.json").write_text(json.dumps({}))
    note = read_note(new_note("A", model="vit_base_patch16_224", vault=tmp_path))
    assert "  model: vit_base_patch16_224\n  pretrained: true\n---" in note.text
    assert build_spec(note.frontmatter, vault_root=tmp_path).pretrained is True
    no_weights = read_note(new_note("B", model="vit_base_patch16_18x2_224", vault=tmp_path))  # timm has none
    assert no_weights.frontmatter["vitnotes"] == {"model": "vit_base_patch16_18x2_224"}
    (tmp_path / ".vitnotes").mkdir()
    (tmp_path / ".vitnotes" / "config.yaml").write_text("pretrained: false\n")
    vault_says = read_note(new_note("C", model="vit_base_patch16_224", vault=tmp_path))
    assert vault_says.frontmatter["vitnotes"] == {"model": "vit_base_patch16_224"}
