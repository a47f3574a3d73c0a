"""Vault conventions of docs/DESIGN.md §4."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vitnotes.errors import SpecError
from vitnotes.obsidian.vault import Vault


def make_vault(root: Path, app: dict | None = None, config: str = ".obsidian", templates: str | None = None) -> Path:
    cfg = root / config
    cfg.mkdir(parents=True)
    if app is not None:
        (cfg / "app.json").write_text(json.dumps(app), encoding="utf-8")
    if templates is not None:
        (cfg / "templates.json").write_text(json.dumps({"folder": templates}), encoding="utf-8")
    (root / "Papers" / "Vision").mkdir(parents=True)
    note = root / "Papers" / "Vision" / "ViT.md"
    note.write_text("# ViT\n", encoding="utf-8")
    return note


def test_root_is_the_nearest_folder_with_the_config_folder(tmp_path):
    note = make_vault(tmp_path / "vault", {})
    v = Vault.for_note(note)
    assert v.root == tmp_path / "vault" and v.config_dir == tmp_path / "vault" / ".obsidian" and not v.is_fallback
    assert v.display(note) == "Papers/Vision/ViT.md" and v.display(tmp_path / "x.md") == str(tmp_path / "x.md")
    assert Vault.config_dir_of(tmp_path / "vault") == v.config_dir and Vault.config_dir_of(tmp_path) is None


def test_renamed_config_folder_is_found(tmp_path):
    note = make_vault(tmp_path / "v", {"attachmentFolderPath": "att"}, config=".my-obsidian")
    (tmp_path / "v" / ".git").mkdir()
    v = Vault.for_note(note)
    assert v.root == tmp_path / "v" and v.config_dir.name == ".my-obsidian"
    assert v.attachment_dir(note) == tmp_path / "v" / "att"


def test_plugin_only_config_folder_is_found_but_other_dot_folders_are_not(tmp_path):
    root = tmp_path / "v"
    (root / ".oh-my-zsh" / "plugins" / "git").mkdir(parents=True)  # not Obsidian: no manifest.json
    (root / "notes").mkdir()
    note = root / "notes" / "a.md"
    note.write_text("x", encoding="utf-8")
    assert Vault.for_note(note).is_fallback
    (root / ".vault-cfg" / "plugins" / "vitnotes").mkdir(parents=True)
    (root / ".vault-cfg" / "plugins" / "vitnotes" / "manifest.json").write_text("{}", encoding="utf-8")
    v = Vault.for_note(note)
    assert v.root == root and v.config_dir.name == ".vault-cfg"


def test_fallback_to_the_notes_folder(tmp_path):
    (tmp_path / "loose").mkdir()
    note = tmp_path / "loose" / "n.md"
    note.write_text("x", encoding="utf-8")
    v = Vault.for_note(note)
    assert v.is_fallback and v.root == tmp_path / "loose" and v.config_dir is None
    assert v.attachment_dir(note) == tmp_path / "loose" and not v.use_markdown_links


@pytest.mark.parametrize(
    "value, expected",
    [
        (None, ""),  # key missing
        ("/", ""),
        ("", ""),
        ("./", "Papers/Vision"),
        (".", "Papers/Vision"),
        ("./assets", "Papers/Vision/assets"),
        ("./assets/img/", "Papers/Vision/assets/img"),
        ("attachments", "attachments"),
        ("attachments/figures/", "attachments/figures"),
        ("/attachments", "attachments"),
    ],
)
def test_attachment_folder_forms(tmp_path, value, expected):
    app = {} if value is None else {"attachmentFolderPath": value}
    note = make_vault(tmp_path, app)
    assert Vault.for_note(note).attachment_dir(note) == (tmp_path / expected if expected else tmp_path)


def test_attachment_folder_outside_the_vault_is_refused(tmp_path):
    note = make_vault(tmp_path / "v", {"attachmentFolderPath": "./../../../escape"})
    with pytest.raises(SpecError, match="attachmentFolderPath"):
        Vault.for_note(note).attachment_dir(note)


def test_broken_app_json_means_defaults(tmp_path):
    note = make_vault(tmp_path, None)
    (tmp_path / ".obsidian" / "app.json").write_text("{not json", encoding="utf-8")
    v = Vault.for_note(note)
    assert v.app == {} and v.attachment_dir(note) == tmp_path


def test_figure_names_are_link_safe_and_vault_unique(tmp_path):
    note = make_vault(tmp_path, {})
    v = Vault.for_note(note)
    assert v.figure_name(note, "attention_distance") == "ViT.attention_distance.png"
    odd = tmp_path / "Papers" / "A#1 | B^c: 50%% [[x]].md"
    odd.write_text("x", encoding="utf-8")
    name = Vault.at(tmp_path).figure_name(odd, "pos_embed")
    assert name.endswith(".pos_embed.png")
    for bad in ("#", "|", "^", ":", "%%", "[[", "]]", "[", "]", "/"):
        assert bad not in name
    other = tmp_path / "Old" / "ViT.md"
    other.parent.mkdir()
    other.write_text("x", encoding="utf-8")
    v2 = Vault.at(tmp_path)
    a, b = v2.figure_name(note, "rollout"), v2.figure_name(other, "rollout")
    assert a != b and a == "Papers - Vision - ViT.rollout.png" and b == "Old - ViT.rollout.png"


def test_notes_whose_names_differ_only_in_case_or_replaced_characters_get_distinct_figures(tmp_path):
    """Regression: "ViT.md" and "vit.md" (one file name on macOS/Windows), or "A#1.md" and "A-1.md"
    (same name once "#" is replaced), wrote the same figure file and overwrote each other's."""
    note = make_vault(tmp_path, {})
    lower = tmp_path / "Old" / "vit.md"
    lower.parent.mkdir()
    lower.write_text("x", encoding="utf-8")
    hashed, dashed = tmp_path / "A#1.md", tmp_path / "Papers" / "A-1.md"
    hashed.write_text("x", encoding="utf-8")
    dashed.write_text("x", encoding="utf-8")
    v = Vault.at(tmp_path)
    names = [v.figure_name(p, "pos_embed") for p in (note, lower, hashed, dashed)]
    assert names == ["Papers - Vision - ViT.pos_embed.png", "Old - vit.pos_embed.png",
                     "A-1.pos_embed.png", "Papers - A-1.pos_embed.png"]
    assert len({n.casefold() for n in names}) == 4


def test_embed_styles(tmp_path):
    note = make_vault(tmp_path, {"attachmentFolderPath": "attachments"})
    v = Vault.for_note(note)
    png = tmp_path / "attachments" / "ViT.attention_distance.png"
    assert v.embed(png, note) == "![[ViT.attention_distance.png]]"
    assert v.embed(png, note, width=300) == "![[ViT.attention_distance.png|300]]"
    assert v.embed(png, note, in_table=True, width=300) == "![[ViT.attention_distance.png\\|300]]"
    md = make_vault(tmp_path / "md", {"useMarkdownLinks": True})
    vm = Vault.for_note(md)
    png2 = tmp_path / "md" / "my attachments" / "ViT.pos embed.png"
    assert vm.embed(png2, md) == "![](../../my%20attachments/ViT.pos%20embed.png)"
    assert vm.embed(png2, md, in_table=True, width=200) == "![\\|200](../../my%20attachments/ViT.pos%20embed.png)"


def test_skip_rules(tmp_path):
    note = make_vault(tmp_path, {}, templates="Templates/Paper")
    v = Vault.for_note(note)
    assert not v.is_skipped(note)
    for rel in (
        ".obsidian/workspace.json", ".trash/old.md", ".git/HEAD", ".vitnotes/cache/x.json",
        "Templates/Paper/paper-study.md", "Papers/ViT (Conflicted copy 2026-01-02).md",
        "Papers/ViT.sync-conflict-20260101-1234.md", "Papers/ViT conflicted copy.md",
        "attachments/ViT.attention_distance.png", "Papers/.ViT.md.vitnotes-tmp-ab12",
    ):
        assert v.is_skipped(tmp_path / rel), rel
    assert not v.is_skipped(tmp_path / "Templates" / "notes.md")  # only the configured subfolder
    assert not v.is_skipped(tmp_path / "attachments" / "photo.png")
    assert v.is_skipped(tmp_path.parent / "elsewhere.md")


def test_state_dir_and_new_file_dir(tmp_path):
    note = make_vault(tmp_path, {"newFileLocation": "folder", "newFileFolderPath": "Inbox/"})
    v = Vault.for_note(note)
    assert not (tmp_path / ".vitnotes").exists()
    assert v.state_dir == tmp_path / ".vitnotes" and v.state_dir.is_dir()
    assert v.new_file_dir() == tmp_path / "Inbox"
    assert Vault.for_note(make_vault(tmp_path / "b", {})).new_file_dir() == tmp_path / "b"
    assert v.templates_folder is None
